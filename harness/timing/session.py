"""One measuring session: what happens to one preparation of a case, the same for ``run``
(and so for ``bench``, the pytest plugin's ``model`` and the Dask workers, which all go
through :func:`harness.runner.run_case`) and for each preparation of an A/B comparison
(:mod:`harness.ab.measure`)::

    prepare -> timer -> bind -> warm-up -> samples -> telemetry window -> close

- **prepare**: the backend builds or loads the engine in the preparation's memory layout
  (NVTX ``build``); its build facts are recorded from :class:`~harness.backends.base.BuildInfo`;
- **timer**: CUDA events on the harness stream for GPU (``is_async``) engines, handed to the
  engine before it binds so that events, work and copies share one ordered queue; the host
  clock otherwise (and for a test double that is async without a GPU);
- **bind**: the case's inputs: its data files, or seeded random data in the model's ranges;
- **warm-up and samples**: :func:`harness.timing.measure.measure` (A/B times its own blocks
  with the session's timer);
- **telemetry window**: an NVML sampler beside a GPU engine's warm-up and samples (the host
  load of a host-timed window is read by the measuring loop itself);
- **close**: the timer (events, graphs, buffers) when its measurement ends, the engine when
  the session ends.

Why one place: each of these choices decides what a figure means, and two copies (the runner's
and A/B's) drifted apart before; A/B must time exactly what ``run`` times.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from harness.backends.base import Backend, BuildInfo, Engine
from harness.inputs import (
    generated_int_note,
    load_inputs,
    random_inputs,
    resolve_run_shapes,
    value_ranges_from_model,
)
from harness.layout import Layout
from harness.markers import nvtx_range
from harness.scenario.expand import Case
from harness.scenario.shapes import parse_shapes
from harness.timing.host import HostTimer
from harness.timing.measure import Measurement, measure
from harness.timing.timer import Timer
from harness.trtexec import load_raw, raw_input_spec


def laid_out(cls: type[Backend], layout: Layout | None) -> Backend:
    """A backend that places its memory at ``layout``'s offsets, where it can."""
    backend = cls()
    if layout is not None and cls.randomizes_layout:
        backend.layout = layout
    return backend


def make_feed(case: Case, engine: Engine, source: Any
              ) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]] | None]:
    """The case's inputs (its data files, or seeded random data in the model's value ranges)
    and the ranges used; the same for ``run`` and both sides of A/B, so both see the same
    inputs."""
    given = case.profile.run if case.profile else None
    if given is None and source.zoo_name:
        from harness.models.zoo import DEFAULT_SHAPES

        given = parse_shapes(DEFAULT_SHAPES[source.zoo_name], batch=case.batch)
    shapes = resolve_run_shapes(engine.inputs, given, case.batch)
    ranges: dict[str, tuple[float, float]] | None = None
    raw = raw_input_spec(case.inputs) if case.inputs else None
    if raw is not None:         # trtexec's --loadInputs: raw tensor bytes per input
        feed = load_raw(raw, {t.name: t.dtype for t in engine.inputs}, shapes)
    elif case.inputs:
        feed = load_inputs(case.inputs, engine.inputs)
    else:
        ranges = value_ranges_from_model(source.onnx_path)
        ranges.update(case.input_range)
        feed = random_inputs(engine.inputs, shapes, case.seed, ranges)
    return feed, ranges


def no_gpu_reason(engine: Engine) -> str | None:
    """Why an async engine cannot be timed with CUDA events here (None: it can, or the
    engine is a host engine and needs no GPU)."""
    if not engine.is_async:
        return None
    from harness import gpu

    return gpu.unavailable_reason()


def make_timer(case: Case, engine: Engine, sm_clock_probe: bool = False) -> Timer:
    """CUDA events on the harness stream for a GPU engine (the stream handed to the engine
    here, before it binds), the host clock otherwise."""
    if engine.is_async and no_gpu_reason(engine) is None:
        from harness.timing.cuda import CudaTimer

        timer = CudaTimer(case.timing, engine=engine, sm_clock_probe=sm_clock_probe,
                          chosen=case.chosen_mode)
        engine.set_stream(timer.stream)
        return timer
    return HostTimer(case.inject_delay)


def build_facts(build: BuildInfo, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """What preparing the engine cost and produced, as a result records it (only ``keys``,
    where given: an A/B record keeps fewer)."""
    facts = {"build_time_s": build.build_time_s, "load_time_s": build.load_time_s,
             "engine_bytes": build.engine_bytes, "cache_hit": build.cache_hit,
             "fingerprint": build.fingerprint, "notes": build.notes,
             "layer_count": len(build.layers) if build.layers is not None else None}
    return facts if keys is None else {k: facts[k] for k in keys}


def record_build(engine: Engine, result: Any) -> None:
    """The engine's build facts into a case result (the whole result of a build-only case)."""
    b = engine.build
    result.build = build_facts(b)
    if b.layers is not None:
        result.layers = b.layers
    result.warnings += [w for w in b.warnings if w not in result.warnings]
    result.timing = {"build_only": True}


class TelemetryWindow:
    """An NVML sampler over one measuring window of GPU engines (none for host engines, a
    disabled ``telemetry``, or no GPU / NVML: :attr:`note` says why). Warm-up and blocks are
    marked on its clock; the settle watch ends a run's warm-up."""

    def __init__(self, case: Case, engines: list[Engine]) -> None:
        self.case = case
        self.sampler: Any = None
        self.clock_state: dict[str, Any] | None = None
        self.note: str | None = None
        if not any(e.is_async for e in engines) or not case.telemetry.enabled:
            return
        from harness import gpu

        if gpu.unavailable_reason() is not None:
            return
        from harness.telemetry.nvml import NvmlSampler, nvml_unavailable_reason

        reason = nvml_unavailable_reason()
        if reason:
            self.note = f"no telemetry: {reason}"
            return
        t = case.telemetry
        try:
            uuid = gpu.device().uuid
        except Exception:
            uuid = None
        self.sampler = NvmlSampler(interval_s=t.interval, uuid=uuid,
                                   settle_window_s=t.settle_window,
                                   settle_tolerance=t.settle_tolerance)
        from harness.telemetry.clocks import clock_state

        self.clock_state = clock_state(self.sampler.handle)

    def __enter__(self) -> TelemetryWindow:
        if self.sampler is not None:
            self.sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop sampling (once; the window may already have been closed)."""
        s = self.sampler
        if s is not None and s._thread is not None and not s._stop.is_set():
            s.stop()

    def mark(self, name: str) -> None:
        if self.sampler is not None:
            self.sampler.mark(name)

    def settle_watch(self) -> Callable[[], bool] | None:
        """What a warm-up asks whether the SM clock has settled (None without a sampler)."""
        return self.sampler.settled if self.sampler is not None else None

    def result(self) -> dict[str, Any] | None:
        if self.sampler is None:
            return None
        return self.sampler.telemetry(self.case.telemetry.flagged_limit)


class MeasuringSession:
    """One preparation of ``case`` from its build to its close (see the module's lifecycle).

    ``with MeasuringSession(case, source, cls, layout) as s: s.prepare(); ...`` -- the engine
    stays active until the session ends; each :meth:`timed` block holds one timer and one
    telemetry window and releases them when it ends."""

    def __init__(self, case: Case, source: Any, backend: type[Backend],
                 layout: Layout | None = None) -> None:
        self.case, self.source = case, source
        self.backend = laid_out(backend, layout)    # its ``layout``: None where not applied
        self.engine: Engine | None = None
        self.load_s: float | None = None
        self.feed: dict[str, np.ndarray] = {}
        self.ranges: dict[str, tuple[float, float]] | None = None
        self.timer: Timer | None = None
        # no sampler until a measurement opens its window (a window over no engines)
        self.window = TelemetryWindow(case, [])
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> MeasuringSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def on_gpu(self) -> bool:
        """Timed with CUDA events (the GPU facts and telemetry then belong to the result)."""
        return self.timer is not None and self.timer.name == "cuda-event"

    # -- prepare -----------------------------------------------------------------------
    def prepare(self, message: str | None = None, payload: int | None = None,
                phase: str | None = "build") -> Engine:
        """Refuse a case the backend cannot run (:class:`~harness.errors.CaseSkipped`), build
        or load the engine (NVTX ``phase``, timed as the case's load time), then activate it
        for the rest of the session."""
        self.backend.check_case(self.case)
        with nvtx_range(phase, message, payload) if phase else contextlib.nullcontext():
            t0 = time.perf_counter()
            engine = self.backend.prepare(self.case, self.source.onnx_path)
            self.load_s = time.perf_counter() - t0
        self.engine = self._stack.enter_context(engine)
        return engine

    def prepare_feed(self) -> dict[str, np.ndarray]:
        """The case's inputs for this engine (kept, with the value ranges they were drawn
        in, for the bind and for the hint when a model refuses them)."""
        assert self.engine is not None
        self.feed, self.ranges = make_feed(self.case, self.engine, self.source)
        return self.feed

    # -- timer, telemetry window, bind ---------------------------------------------------
    def open_timer(self, sm_clock_probe: bool = False,
                   stack: contextlib.ExitStack | None = None) -> Timer:
        """Choose the timer (handing a GPU engine the harness stream); it is closed with
        ``stack`` (default: the session)."""
        assert self.engine is not None
        self.timer = make_timer(self.case, self.engine, sm_clock_probe)
        (stack or self._stack).callback(self.timer.close)
        return self.timer

    def bind(self) -> None:
        """Bind the prepared feed (NVTX ``load``)."""
        assert self.engine is not None
        with nvtx_range("load"):
            self.engine.bind(self.feed)

    @contextlib.contextmanager
    def timed(self, sm_clock_probe: bool = False) -> Iterator[MeasuringSession]:
        """One measurement's timer and telemetry window, opened before the bind (the timer
        hands its stream over, the sampler watches the warm-up) and closed at the end."""
        assert self.engine is not None
        try:
            with contextlib.ExitStack() as stack:
                self.open_timer(sm_clock_probe, stack)
                self.window = stack.enter_context(TelemetryWindow(self.case, [self.engine]))
                yield self
        except Exception as exc:
            # generated integer inputs a model refuses (indices out of range): say so
            note = (generated_int_note(self.engine.inputs, self.ranges)
                    if self.ranges is not None else "")
            if not note:
                raise
            raise RuntimeError(f"{exc}\nhint: {note}") from exc

    # -- warm-up, samples ----------------------------------------------------------------
    def measure(self) -> Measurement:
        """Warm-up (until the SM clock settles, where a sampler watches it) and samples until
        the stopping rule is met; a GPU engine's stage pass follows, then the window closes."""
        assert self.engine is not None and self.timer is not None
        engine, window = self.engine, self.window

        def phase(name: str) -> None:
            window.mark(name)
            if name == "measure_start":
                engine.on_measure_start()

        m = measure(engine.run, self.timer, self.case.warmup, self.case.stop,
                    window.settle_watch(), phase)
        if self.on_gpu:
            self.timer.stage_pass(engine.run)  # type: ignore[attr-defined]
        if window.sampler is not None:
            with nvtx_range("telemetry"):
                window.sampler.stop()
        return m
