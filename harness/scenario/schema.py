"""The scenario file schema (pydantic). Unknown keys are errors: a typo must not be ignored.

Every knob that decides a figure (warm-up, stopping rule, timing choices) lives here so it can
be set per scenario, per model and per case, and is recorded with every result.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from harness.scenario.shapes import parse_shapes
from harness.units import parse_duration, parse_fraction

# An undecided A/B pair measures on up to this much measuring time: the CLI, ``[[ab]]`` and
# ``ABSettings`` share it, so an experiment driver measures what the command does.
DEFAULT_MAX_DURATION_S = 30.0

Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, BeforeValidator(parse_fraction), Field(ge=0, allow_inf_nan=False)]
# Bounds on counts keep a typo (or a 5000-digit number) from becoming a run that never ends.
Count = Annotated[int, Field(ge=0, le=10_000_000)]
BatchSize = Annotated[int, Field(ge=1, le=65_536)]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]


def _pair(value: Any) -> Any:
    # TOML has arrays, not tuples; strict validation would refuse [lo, hi] otherwise.
    return tuple(value) if isinstance(value, list) else value


ValueRange = Annotated[tuple[float, float], BeforeValidator(_pair)]

BACKENDS = ("onnxruntime", "tensorrt", "torch", "calibration")
# A backend axis value may name a variant, ``torch:graph``: it sets that backend's option
# (``options.torch.mode = "graph"``) and stays in the case id, so the variants are distinct
# cases of one scenario.
VARIANTS = {"torch": ("mode", ("eager", "graph", "compile"))}


def split_backend(value: str) -> tuple[str, str | None]:
    name, _, variant = value.partition(":")
    return name, (variant or None)
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8")


class Strict(BaseModel):
    # strict: "4" is not a batch size and "yes" is not true; a coerced value would run a
    # matrix the author did not write.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Warmup(Strict):
    """Warm up for at least ``min_time``; on a GPU, until the SM clock settles or ``max_time``."""

    min_time: Seconds = 0.2
    max_time: Seconds = 2.0
    min_iterations: Count = 5


class StopRule(Strict):
    """Measure until the CI of the median is within ``rel_ci`` of the median (relative width,
    half-width over median) with at least ``min_samples`` and ``min_time``, or a cap is hit."""

    rel_ci: Annotated[Fraction, Field(gt=0)] = 0.005     # 0 is never reached
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    min_samples: Annotated[Count, Field(ge=3)] = 20
    max_samples: Annotated[Count, Field(ge=3)] = 100_000
    min_time: Seconds = 0.2
    max_time: Seconds = 3.0

    @model_validator(mode="after")
    def _terminates(self) -> StopRule:
        if self.min_samples > self.max_samples:
            raise ValueError(f"min_samples ({self.min_samples}) > max_samples "
                             f"({self.max_samples}): the rule could never stop")
        return self


class Timing(Strict):
    """How a figure is timed. TensorRT 11's trtexec flipped several of these defaults, so each
    choice is explicit and recorded beside the result: figures with different choices are not
    comparable."""

    timer: Literal["auto", "host", "cuda-event"] = "auto"
    # "auto": batched (20 replays between two events) for a CUDA-graph case whose median is
    # under 50 µs, per-iteration otherwise, chosen once per case after its warm-up and
    # recorded beside its figures (harness.timing.mode has the rule and its evidence).
    mode: Literal["auto", "per-iteration", "batched"] = "auto"
    batch_iterations: Annotated[Count, Field(ge=1)] = 10   # enqueues between two events
    cuda_graph: bool = False
    transfers: bool = False                            # H2D/D2H inside the timed region
    sync: Literal["blocking", "spin"] = "blocking"
    cold: Literal["off", "l2-flush", "rotate-inputs"] = "off"
    nvtx_per_iteration: bool = False
    # Block the stream while each chunk of timed work is enqueued, so it runs back to back
    # at GPU speed and host launch latency stays out of per-iteration figures (nvbench).
    hold_stream: bool = False
    # Preparations of the case, each in its own random memory layout (harness.layout), timed
    # one after the other within the stop rule's time: the run's estimate is then the mean
    # over layouts with their spread as its error (docs/verdicts.md, "Layouts in stored runs").
    # Unset: where the backend places memory at a layout (torch), the count the case's
    # accepted runs ask for (harness.baseline.layout_count: more, up to MAX_LAYOUTS, where
    # their layouts disagree), else DEFAULT_LAYOUTS; 1 elsewhere (a backend that cannot
    # move its memory would only repeat one layout). Set: exactly that.
    layouts: Annotated[Count, Field(ge=1, le=64)] | None = None
    # A case with accepted runs draws the newest one's layout seeds again, so the stored
    # verdict compares it layout by layout (harness.baseline.layout_count.replayed_seed,
    # harness.comparison.compare_paired_layouts). False: fresh random layouts in every run,
    # judged over layouts without pairing (the rule before session 15: its verdicts concern
    # the mean over all layouts, at a wider interval).
    replay_layouts: bool = True


class TelemetrySettings(Strict):
    """The NVML sampler beside warm-up and measurement of GPU cases. A case whose measured
    time was more than ``flagged_limit`` under a power/thermal/hardware slowdown is marked
    unstable. The warm-up ends when the SM clock has varied by at most ``settle_tolerance``
    over ``settle_window`` (or at ``warmup.max_time``)."""

    enabled: bool = True
    interval: Seconds = 0.02
    flagged_limit: Fraction = 0.05
    settle_window: Seconds = 0.1
    settle_tolerance: Fraction = 0.01
    sm_clock_probe: bool = False       # nvbench-style in-kernel SM clock reading per chunk


class Tolerance(Strict):
    """Largest change that still passes, per metric, as a fraction (``"5%"``). The median's
    and throughput's default (None) depends on how the case is timed: 1 % where its runs
    sample random memory layouts (torch), 5 % otherwise
    (``harness.baseline.verdict.case_tolerance``)."""

    median: Fraction | None = None
    p99: Fraction = 0.20
    throughput: Fraction | None = None
    accuracy: float = Field(default=1e-2, ge=0)
    size: Fraction = 0.01
    memory: Fraction = 0.05
    build_time: Fraction = 0.50


def _check_shapes(text: str) -> str:
    parse_shapes(text, batch=1)   # syntax only; min<=opt<=max is checked per batch on expansion
    return text


ShapeText = Annotated[str, AfterValidator(_check_shapes)]


class ProfileSpec(Strict):
    min: ShapeText
    opt: ShapeText
    max: ShapeText
    run: ShapeText | None = None
    label: str | None = None


ShapesValue = ShapeText | ProfileSpec


class Step(Strict):
    """A pipeline step around the engine: an importable callable ``module:function`` and the
    keyword options it is called with (see :mod:`harness.pipeline.ops`)."""

    step: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    options: dict[str, Any] = {}


StepValue = Annotated[Step, BeforeValidator(lambda v: {"step": v} if isinstance(v, str) else v)]


class Slo(Strict):
    """A service-level objective, gated like a metric: ``fps`` is a floor on items/s,
    ``median``/``p99`` are ceilings on latency; ``stage`` says which figure (``total``: end to
    end through pre and post where the case has a pipeline, else the engine alone)."""

    fps: float | None = Field(default=None, gt=0)
    median: Seconds | None = None
    p99: Seconds | None = None
    stage: Literal["total", "infer", "pre", "post", "h2d", "d2h"] = "total"


class Reference(Strict):
    """What a case's outputs are compared with (accuracy beside latency): by default FP32 ONNX
    Runtime on the same model and inputs. ``source``/``post`` override the model and the
    post-processing of the reference (e.g. NMS in Python as the reference of in-graph NMS)."""

    backend: str = "onnxruntime"
    precision: str = "fp32"
    source: str | None = None
    post: StepValue | None = None
    iou: float = Field(default=0.5, gt=0, le=1)     # boxes match at this IoU or above
    enabled: bool = True


class CaseSettings(Strict):
    """Settings that can be given in ``[defaults]``, per ``[[model]]`` and per ``[[case]]``."""

    warmup: Warmup | None = None
    stop: StopRule | None = None
    timing: Timing | None = None
    telemetry: TelemetrySettings | None = None
    tolerance: Tolerance | None = None
    inject_delay: Seconds | None = None    # busy-wait inside the timed region (testing verdicts)
    options: dict[str, dict[str, Any]] | None = None   # per-backend options, e.g. onnxruntime
    seed: Seed | None = None
    slo: Slo | None = None
    reference: Reference | None = None


class Axes(Strict):
    # An empty axis would silently fall back to the defaults: refused.
    backends: list[str] | None = Field(default=None, min_length=1)
    precisions: list[str] | None = Field(default=None, min_length=1)
    batch: list[BatchSize] | None = Field(default=None, min_length=1)

    @field_validator("backends")
    @classmethod
    def _known_backends(cls, v: list[str] | None) -> list[str] | None:
        for b in v or ():
            name, variant = split_backend(b)
            if name not in BACKENDS:
                raise ValueError(f"unknown backend {b!r}; expected one of {', '.join(BACKENDS)}")
            if variant is not None:
                key, allowed = VARIANTS.get(name, (None, ()))
                if variant not in allowed:
                    raise ValueError(f"backend {b!r}: " + (
                        f"{name} variants are {', '.join(f'{name}:{a}' for a in allowed)}"
                        if key else f"{name} has no variants"))
        return v

    @field_validator("precisions")
    @classmethod
    def _known_precisions(cls, v: list[str] | None) -> list[str] | None:
        for p in v or ():
            if p not in PRECISIONS:
                raise ValueError(f"unknown precision {p!r}; expected one of "
                                 f"{', '.join(PRECISIONS)}")
        return v


class Defaults(Axes, CaseSettings):
    pass


class ModelSpec(Axes, CaseSettings):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str = Field(min_length=1)
    shapes: ShapesValue | Annotated[list[ShapesValue], Field(min_length=1)] | None = None
    inputs: str | None = None                       # .npy/.npz with real input data
    input_range: dict[str, ValueRange] | None = None
    pre: StepValue | None = None
    post: StepValue | None = None
    # Source frames fed to ``pre``: "HxW" (seeded uint8 HxWx3 camera frames, as a camera
    # delivers them) or a .npy file of real frames (HxWxC or NxHxWxC).
    frames: str | None = None


class CaseOverride(CaseSettings):
    match: str          # fnmatch pattern over case ids
    skip: str | None = None   # reason; the case is reported as skipped


# [[ab]] keys (and ab's options) of an interleaved comparison only: with ``processes`` each
# side runs in processes of its own, so there are no interleaved preparations to set or
# redraw, and no interleaved comparison to go on from.
NOT_WITH_PROCESSES = ("instances", "redraw", "escalate_processes")


def not_with_processes(processes: str, names: list[str]) -> str:
    """The error for ``names`` (as the user spelled them) given with ``processes``."""
    return (f"{processes} runs each side in processes of its own; not with "
            f"{', '.join(names)}: only an interleaved comparison in one process has those")


class ABSpec(Strict):
    """``[[ab]]``: two cases of this scenario (ids with or without the scenario's name in
    front) measured interleaved in one run (harness.ab); ``tolerance`` as in ``[defaults]``
    (A/B defaults: median 0.5 %, p99 2 %, throughput 0.5 %)."""

    a: str
    b: str
    duration: Seconds = 10.0
    block: Seconds = 0.25
    rewarm: Seconds = 0.05
    seed: Seed = 0
    instances: Annotated[Count, Field(ge=1)] | None = None   # None: the A/B default
    max_duration: Seconds = DEFAULT_MAX_DURATION_S   # an undecided pair measures on (0: never)
    max_wall: Seconds = 0.0           # wall-clock limit of the extension (0: none)
    redraw: bool = False              # a fresh buffer layout per block pair (opt-in)
    # A and B each in N fresh processes at one set of layout seeds (harness.ab.processes;
    # 0: interleaved in one process)
    processes: Count = 0
    # processes per side an interleaved comparison goes on to when its preparations' spread
    # leaves it undecided (harness.ab.plan.escalation; 0: none; None: the A/B default)
    escalate_processes: Count | None = None
    tolerance: dict[str, Fraction] | None = None

    @model_validator(mode="after")
    def _processes(self) -> ABSpec:
        for key in ("processes", "escalate_processes"):
            if getattr(self, key) == 1:
                raise ValueError(f"{key}: 0 (none) or at least 2 (the run-level spread is "
                                 "measured from the runs of each side)")
        if self.processes:
            bad = [key for key in NOT_WITH_PROCESSES if getattr(self, key)]
            if bad:
                raise ValueError(not_with_processes("processes", bad))
        return self


class ScenarioFile(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    defaults: Defaults = Defaults()
    model: list[ModelSpec] = Field(min_length=1)
    case: list[CaseOverride] = []
    ab: list[ABSpec] = []
