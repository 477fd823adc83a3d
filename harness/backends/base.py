"""The backend protocol. As in Polygraphy's runners, the public lifecycle methods hold the
rules (activation, input checking) and each backend writes only the ``*_impl`` parts, so a new
backend cannot forget them.

- :class:`Backend` prepares an :class:`Engine` for a case (build or load, cached).
- :class:`Engine` knows its IO tensors, binds inputs once (checked), then runs inferences on
  the hot path with no per-call checks, and reports its memory.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import CaseSkipped, ConfigError, HarnessError
from harness.layout import Layout
from harness.tensors import TensorSpec  # also re-exported: backends take it from here


@dataclass
class BuildInfo:
    """What preparing the engine cost and produced (gated metrics for build-only cases)."""

    build_time_s: float = 0.0
    load_time_s: float = 0.0
    engine_bytes: int | None = None
    cache_hit: bool | None = None
    fingerprint: str | None = None          # hash of layer/tactic info where known
    layers: list[dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)
    # What the case's result must show, not only the build notes (a damaged cache entry).
    warnings: list[str] = field(default_factory=list)


def _layout(feed: dict[str, np.ndarray]) -> dict[str, tuple[tuple[int, ...], str]]:
    return {k: (tuple(v.shape), str(v.dtype)) for k, v in feed.items()}


class InputMismatch(HarnessError):
    """The inputs given do not match the engine's IO tensors."""


class Engine(abc.ABC):
    """One prepared model, ready to run. Use as a context manager."""

    #: True when ``run`` leaves work queued on a GPU stream (timed with CUDA events).
    is_async: bool = False
    #: True for engines that were built but cannot run here (e.g. TensorRT-RTX building for a
    #: target compute capability without a GPU): the runner records build metrics only.
    build_only: bool = False
    #: Relative SD of the speed between two preparations of this same engine (memory
    #: placement): ``None`` means unknown, and A/B verdicts use ``VerdictPolicy.instance_cv``.
    instance_spread: float | None = None

    # Optional capabilities: each flag says whether the engine implements the hooks named
    # beside it; the base's hooks do nothing, so callers never probe for them.
    #: ``run`` can be captured into a CUDA graph (``timing.cuda_graph``).
    supports_cuda_graph: bool = False
    #: ``run`` is one replay of a CUDA graph the engine captured itself (torch mode "graph"):
    #: timed like ``timing.cuda_graph``, so an auto timing mode may batch it.
    replays_cuda_graph: bool = False
    #: The engine stages inputs and outputs in host buffers and enqueues the copies itself
    #: (:meth:`enqueue_h2d`, :meth:`enqueue_d2h`): timed as stages, and inside the step with
    #: ``timing.transfers``.
    enqueues_copies: bool = False
    #: The engine keeps several input sets in device memory (:meth:`prepare_input_sets`,
    #: :meth:`select_input_set`) for ``timing.cold = 'rotate-inputs'``.
    rotates_inputs: bool = False

    def __init__(self) -> None:
        self._active = False
        self._bound = False
        self._bound_layout: dict[str, tuple[tuple[int, ...], str]] = {}
        self._inputs: list[TensorSpec] = []
        self._outputs: list[TensorSpec] = []
        self.build = BuildInfo()
        self.stream: object | None = None

    def set_stream(self, stream: object) -> None:
        """The harness's dedicated CUDA stream (a ``cuda.core`` Stream); async engines enqueue
        on it so timer events, engine work and copies share one ordered queue."""
        self.stream = stream

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> Engine:
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def activate(self) -> None:
        if not self._active:
            self.activate_impl()
            self._active = True

    def deactivate(self) -> None:
        if self._active:
            self._active = False
            self._bound = False
            self.deactivate_impl()

    # -- IO --------------------------------------------------------------------------
    @property
    def inputs(self) -> list[TensorSpec]:
        """Input tensors; a backend sets ``self._inputs`` when it prepares the engine."""
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def bind(self, feed: dict[str, np.ndarray]) -> None:
        """Check ``feed`` against the IO specs, then hand it to the backend (copies, shapes)."""
        if not self._active:
            raise RuntimeError("engine is not active: use it as a context manager")
        specs = {s.name: s for s in self.inputs}
        missing, extra = set(specs) - set(feed), set(feed) - set(specs)
        if missing or extra:
            raise InputMismatch(f"inputs do not match the model: missing {sorted(missing)}, "
                                f"unexpected {sorted(extra)}; the model takes "
                                + ", ".join(s.describe() for s in self.inputs))
        for name, arr in feed.items():
            spec = specs[name]
            if np.dtype(arr.dtype) != np.dtype(spec.dtype):
                raise InputMismatch(f"input {name!r} is {arr.dtype}, the model wants {spec.dtype}")
            if len(arr.shape) != len(spec.shape) or any(
                    isinstance(d, int) and d >= 0 and d != a for d, a in zip(spec.shape, arr.shape,
                                                                              strict=True)):
                raise InputMismatch(f"input {name!r} has shape {arr.shape}, the model wants "
                                    f"{spec.describe()}")
        self.bind_impl(feed)
        self._bound = True
        self._bound_layout = _layout(feed)

    def update_inputs(self, feed: dict[str, np.ndarray]) -> None:
        """New values for the bound inputs: the per-frame path of a pipeline.

        Same names, shapes and dtypes only write into the buffers ``bind`` set up (host staging
        buffers; the device copy is ``enqueue_h2d``), so nothing is re-allocated, re-planned
        or re-captured per frame. Anything else is a new binding, checked as ``bind`` checks.
        """
        if not self._bound or _layout(feed) != self._bound_layout:
            self.bind(feed)
        else:
            self.update_inputs_impl(feed)

    def run(self) -> None:
        """One inference on the bound inputs. The hot path: no checks beyond 'bound'."""
        self.run_impl()

    def fetch_outputs(self) -> dict[str, np.ndarray]:
        """Outputs of the last ``run`` as host arrays (after synchronising)."""
        return self.fetch_outputs_impl()

    def memory(self) -> dict[str, int]:
        """Memory figures in bytes (engine/device/host) where the backend knows them."""
        return {}

    def synchronize(self) -> None:
        """Wait for the engine's queued GPU work (nothing to wait for on a host engine)."""
        if self.stream is not None and hasattr(self.stream, "sync"):
            self.stream.sync()

    # -- optional capabilities (see the flags above) -----------------------------------
    def enqueue_h2d(self) -> None:  # noqa: B027 - optional hook (enqueues_copies)
        """Enqueue the copy of the bound inputs from their host buffers to the device."""

    def enqueue_d2h(self) -> None:  # noqa: B027 - optional hook (enqueues_copies)
        """Enqueue the copy of the outputs from the device to their host buffers."""

    def prepare_input_sets(self, l2_bytes: int) -> int:
        """Place copies of the bound inputs that together exceed ``l2_bytes`` in device
        memory; how many sets (``rotates_inputs``; none by default)."""
        return 0

    def select_input_set(self, i: int) -> None:  # noqa: B027 - optional hook (rotates_inputs)
        """Make input set ``i`` the one the next ``run`` reads."""

    def relayout(self, layout: Layout) -> bool:
        """Place everything but the weights afresh at ``layout``'s "buffers" offsets: new
        pads, new device input and output buffers, any captured graph captured again, on the
        same bound inputs; the engine's GPU work is finished when it returns. What a timer
        prepared on the old buffers must then be prepared again.

        A cheap layout re-draw (A/B ``redraw``): one capture instead of a whole preparation,
        and the activations' placement is most of the spread between layouts. False, with
        nothing done, where the backend does not place its memory itself."""
        if not self._bound:
            raise RuntimeError("relayout needs a bound engine: bind its inputs first")
        return self.relayout_impl(layout)

    def on_measure_start(self) -> None:  # noqa: B027 - optional hook
        """Told when the timed samples begin, after the warm-up (e.g. to reset counters)."""

    def reference_timing(self) -> dict[str, Any] | None:
        """The engine's own account of its time over the measurement, to check the timer
        against (the calibration kernels count their spins); ``None``: it keeps none."""
        return None

    def introspect(self) -> dict[str, Any]:
        """Extra findings after the timed run, never inside it (layer info and per-layer
        times, fingerprint, shape-switch cost): ``{"layers": [...], "build": {...}}``."""
        return {}

    # -- backend-specific parts --------------------------------------------------------
    def activate_impl(self) -> None:  # noqa: B027 - optional hook
        pass

    def deactivate_impl(self) -> None:  # noqa: B027 - optional hook
        pass

    @abc.abstractmethod
    def bind_impl(self, feed: dict[str, np.ndarray]) -> None: ...

    def update_inputs_impl(self, feed: dict[str, np.ndarray]) -> None:
        """Backends with staging buffers copy into them; the default binds again."""
        self.bind_impl(feed)

    def relayout_impl(self, layout: Layout) -> bool:
        """Backends that place their memory themselves re-place it; the default cannot."""
        return False

    @abc.abstractmethod
    def run_impl(self) -> None: ...

    @abc.abstractmethod
    def fetch_outputs_impl(self) -> dict[str, np.ndarray]: ...


class BackendOptions(BaseModel):
    """Base of each backend's ``options.<backend>`` model: unknown keys are errors and values
    are not coerced ("fastest" is not an optimisation level, "4" is not a thread count)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Backend(abc.ABC):
    """A runtime that turns a case into an engine."""

    name: str = ""
    #: True when the backend places its device memory at the offsets of ``layout`` (a
    #: :class:`harness.layout.Layout` set before ``prepare``); others ignore the layout.
    randomizes_layout: bool = False
    #: The typed model of this backend's ``options.<name>`` table. Checked when a scenario is
    #: loaded (``validate``, ``list``), not only when a case runs.
    options_model: type[BackendOptions] = BackendOptions
    #: The end of the reason a case in a precision outside :meth:`supported_precisions` is
    #: skipped for (:meth:`check_case`).
    precision_hint: str = "needs another backend"

    def __init__(self) -> None:
        self.layout: Layout | None = None

    @classmethod  # noqa: B027 - optional hook
    def startup(cls, cases: list[Any]) -> None:
        """Process-wide initialisation (imports, the CUDA context, libraries the cases' model
        factories import), done once per run before the first case so that no case's load
        time carries it. The runner times it and reports it as the run's start-up."""

    @classmethod
    def parse_options(cls, raw: dict[str, Any], where: str = "") -> Any:
        """``raw`` as this backend's options model; :class:`ConfigError` naming every key
        that is wrong (``where``: the case, for errors at run time)."""
        try:
            return cls.options_model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(cls.describe_problems(exc), key=where or None) from None

    @classmethod
    def describe_problems(cls, exc: ValidationError) -> str:
        """The options model's errors in the scenario's words (unknown keys listed first)."""
        table = f"options.{cls.name}"
        unknown = [".".join(map(str, e["loc"])) for e in exc.errors()
                   if e["type"] == "extra_forbidden"]
        problems = [f"{'.'.join((table, *map(str, e['loc'])))}: "
                    + e["msg"].removeprefix("Value error, ")
                    + (f" (got {e['input']!r})" if not isinstance(e["input"], dict) else "")
                    for e in exc.errors() if e["type"] != "extra_forbidden"]
        if unknown:
            problems.insert(0, f"{table}: unknown {cls.name} options {unknown}; expected some "
                            f"of {sorted(cls.options_model.model_fields)}")
        return "; ".join(problems)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` when the backend can run here, else why not (missing package, no GPU)."""
        return None

    @classmethod
    def version(cls) -> str:
        return "unknown"

    @classmethod
    def supported_precisions(cls) -> tuple[str, ...]:
        return ("fp32",)

    @classmethod
    def runs_here(cls) -> bool:
        """Engines can run here; ``False`` where the backend can only build (TensorRT-RTX
        without a GPU builds for a target)."""
        return True

    @classmethod
    def check_case(cls, case: Any) -> None:
        """Refuse, before anything is prepared, a case this backend cannot run: a precision
        outside :meth:`supported_precisions` is skipped (:class:`CaseSkipped`) with its
        reason. The runner and A/B call it before :meth:`prepare`."""
        supported = cls.supported_precisions()
        if case.precision not in supported:
            raise CaseSkipped(f"{cls.name} runs {', '.join(supported)} models only; precision "
                              f"{case.precision!r} {cls.precision_hint}")

    @abc.abstractmethod
    def prepare(self, case: Any, model_path: str | None) -> Engine:
        """Build or load the engine for ``case`` (``model_path``: the resolved ONNX file)."""
