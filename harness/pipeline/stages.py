"""An application's frame loop, timed stage by stage: pre -> H2D -> infer -> D2H -> post.

The engine-only figure of a case (its ``stats_ms``) comes from the case's timer (CUDA events
on a GPU). The stages here answer a different question, the YuNet article's: how long does a
frame take *end to end*, as the application sees it? So each stage is timed with the host clock
and ends with a synchronisation of the harness stream (work queued but unfinished would be
billed to the next stage). Every stage is an NVTX range, so ``nsys`` shows the same story.

On host engines (ONNX Runtime on the CPU) ``h2d`` is the binding of the inputs and ``d2h`` the
fetch of the outputs: the copies into and out of the runtime's buffers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.backends.base import Engine
from harness.errors import ConfigError
from harness.markers import nvtx_range
from harness.scenario.paths import import_step_module, scenario_path
from harness.scenario.schema import Step, StopRule, Warmup
from harness.stats import summarize
from harness.timing.measure import warm_up
from harness.timing.stopping import StoppingCriterion

STAGES = ("pre", "h2d", "infer", "d2h", "post")


def load_step(step: Step, what: str, base_dir: str | None = None) -> Callable[..., Any]:
    """The callable a ``pre``/``post`` step names (``module:function``): its module from the
    scenario's folder first, then among importable modules (:mod:`harness.scenario.paths`)."""
    module, _, name = step.step.partition(":")
    try:
        fn = getattr(import_step_module(module, base_dir), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{what} step {step.step!r} cannot be imported: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"{what} step {step.step!r} is not callable")
    return fn


def make_frames(frames: str | None, input_shape: tuple[int, ...], batch: int, seed: int,
                base_dir: str | None = None) -> np.ndarray:
    """Source frames for ``pre``: uint8 ``N x H x W x 3``. ``frames`` is ``"HxW"`` (seeded
    random camera frames), a ``.npy`` file of real frames, or None (the input's own H x W)."""
    if frames and frames.endswith(".npy"):
        path = scenario_path(frames, base_dir)
        if not path.is_file():
            raise ConfigError(f"frames file {str(path)!r} not found")
        arr = np.load(path)
        arr = arr[None] if arr.ndim == 3 else arr
        if arr.ndim != 4:
            raise ConfigError(f"{path}: frames must be HxWxC or NxHxWxC, got {arr.shape}")
        return np.ascontiguousarray(np.resize(arr, (batch, *arr.shape[1:])))
    if frames:
        try:
            h, w = (int(v) for v in frames.lower().split("x"))
        except ValueError:
            raise ConfigError(f"frames {frames!r}: expected 'HxW' (e.g. '480x640') or a "
                              ".npy file") from None
    elif len(input_shape) == 4:
        h, w = input_shape[2], input_shape[3]
    else:
        raise ConfigError("a pre step needs 'frames' (HxW) for a model whose input is not NCHW")
    return np.random.default_rng(seed).integers(0, 256, (batch, h, w, 3), dtype=np.uint8)


@dataclass
class Pipeline:
    engine: Engine
    feed: dict[str, np.ndarray]                    # used as is when there is no pre step
    frames: np.ndarray | None = None
    pre: Callable[..., dict[str, np.ndarray]] | None = None
    pre_options: dict[str, Any] = field(default_factory=dict)
    post: Callable[..., Any] | None = None
    post_options: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in
                                                                     (*STAGES, "total")})
    last_outputs: dict[str, np.ndarray] | None = None
    last_post: Any = None

    def input_specs(self) -> dict[str, dict[str, Any]]:
        return {k: {"shape": v.shape, "dtype": v.dtype} for k, v in self.feed.items()}

    def frame(self) -> None:
        """One frame through every stage; seconds per stage appended to ``samples``."""
        clock, engine = time.perf_counter_ns, self.engine
        t = [clock()]
        with nvtx_range("pre"):
            feed = self.pre(self.frames, self.input_specs(), **self.pre_options) \
                if self.pre else self.feed
        t.append(clock())
        with nvtx_range("h2d"):
            engine.update_inputs(feed)
            if engine.is_async:
                engine.enqueue_h2d()
            engine.synchronize()
        t.append(clock())
        with nvtx_range("infer"):
            engine.run()
            engine.synchronize()
        t.append(clock())
        with nvtx_range("d2h"):
            outputs = engine.fetch_outputs()
        t.append(clock())
        with nvtx_range("post"):
            result = self.post(outputs, **self.post_options) if self.post else outputs
        t.append(clock())
        for name, a, b in zip(STAGES, t, t[1:], strict=False):
            self.samples[name].append((b - a) * 1e-9)
        self.samples["total"].append((t[-1] - t[0]) * 1e-9)
        self.last_outputs, self.last_post = outputs, result

    def reset(self) -> None:
        for v in self.samples.values():
            v.clear()


@dataclass
class StageMeasurement:
    stages: dict[str, Any]           # the CaseResult.stages record
    stop_reason: str
    warmup_s: float
    outputs: dict[str, np.ndarray] | None
    post_result: Any


def measure_pipeline(pipe: Pipeline, warmup: Warmup, stop: StopRule,
                     load_s: float | None = None) -> StageMeasurement:
    """Warm up, then run frames until the stopping rule is met on the end-to-end total."""
    warm_s, _, _ = warm_up(pipe.frame, warmup)
    pipe.reset()
    criterion = StoppingCriterion(stop)
    start = time.perf_counter()
    with nvtx_range("measure"):
        while True:
            pipe.frame()
            criterion.add(pipe.samples["total"][-1], time.perf_counter() - start)
            if criterion.is_finished():
                break
    stages: dict[str, Any] = {}
    if load_s is not None:
        stages["load"] = {"value_ms": load_s * 1e3}
    for name, values in pipe.samples.items():
        if name in ("pre", "post") and getattr(pipe, name) is None:
            continue
        ms = [v * 1e3 for v in values]
        s = summarize(ms, stop.confidence)
        stages[name] = {k: s[k] for k in ("median", "median_ci_low", "median_ci_high", "p99",
                                          "n")} | {"samples_ms": [round(v, 6) for v in ms]}
    return StageMeasurement(stages, criterion.reason, warm_s, pipe.last_outputs, pipe.last_post)


def fps(stages: dict[str, Any], batch: int, stage: str = "total") -> float | None:
    """Items per second at the stage's median (a frame holds ``batch`` items)."""
    med = stages.get(stage, {}).get("median")
    return batch / (med / 1e3) if med else None
