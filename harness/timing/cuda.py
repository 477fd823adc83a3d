"""The CUDA-event timer: GPU time of each inference, measured by events recorded on one
dedicated non-default stream around the engine's enqueue (the engine enqueues on that same
stream, handed to it by ``engine.set_stream``).

Modes (all recorded beside the result, as TensorRT 11's trtexec flipped its defaults):

- ``per-iteration``: two events around each inference. Exact for long kernels; each sample
  carries the event floor (~6 µs on an H100/H200), which ``trt-harness selftest`` measures.
- ``batched``: N inferences back to back between two events; the sample is the interval / N,
  so the floor is spread over N (for workloads near the floor).
- ``auto`` (the default): batched for a CUDA-graph case under 50 µs, per-iteration otherwise,
  chosen after the warm-up (:mod:`harness.timing.mode`).
- ``cuda_graph``: the engine's enqueue (and the copies, when timed) is captured once into a
  CUDA graph; every timed iteration is then one ``cuGraphLaunch`` and nothing else.
- ``cold``: ``l2-flush`` writes a buffer of twice the L2 size before each timed inference
  (outside the events); ``rotate-inputs`` cycles through enough input sets to miss in L2.

Host enqueue time (the Python call of ``run``) is recorded separately from GPU time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness import gpu
from harness.errors import ConfigError
from harness.markers import nvtx_range
from harness.scenario.schema import Timing
from harness.stats import summarize
from harness.timing import analysis, mode
from harness.timing.timer import Timer

if TYPE_CHECKING:
    from harness.backends.base import Engine

STAGE_PASS_ITERATIONS = 20    # iterations of the separate H2D/D2H pass (transfers not timed)
ENQUEUE_WINDOW = 8            # iterations per chunk whose host enqueue time is trusted


class CudaGraph:
    """A stream capture of ``fn`` on ``stream``, instantiated once and launched many times."""

    def __init__(self, stream: Any, fn: Callable[[], None]) -> None:
        from cuda.bindings import driver

        self._driver = driver
        self.stream = stream
        handle = stream.handle
        gpu.check(driver.cuStreamBeginCapture(
            handle, driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL))
        try:
            fn()
        finally:
            self.graph = gpu.check(driver.cuStreamEndCapture(handle))
        self.exec = gpu.check(driver.cuGraphInstantiate(self.graph, 0))
        try:
            got = gpu.check(driver.cuGraphGetNodes(self.graph, 0))
            self.nodes: int | None = int(got[1]) if isinstance(got, tuple) else None
        except Exception:
            self.nodes = None
        self._launch = driver.cuGraphLaunch
        self._handle = handle

    def launch(self) -> None:
        self._launch(self.exec, self._handle)

    def close(self) -> None:
        d = self._driver
        d.cuGraphExecDestroy(self.exec)
        d.cuGraphDestroy(self.graph)


class CudaTimer(Timer):
    """Implements :class:`~harness.timing.timer.Timer` with CUDA events."""

    name = "cuda-event"

    def __init__(self, timing: Timing, stream: Any | None = None, engine: Engine | None = None,
                 sm_clock_probe: bool = False, chosen: mode.ModeChoice | None = None) -> None:
        from cuda.bindings import driver

        self.timing = timing
        self.device = gpu.ensure_current()
        self.stream = stream if stream is not None else gpu.harness_stream()
        self.engine = engine
        self._driver = driver
        self._sh = self.stream.handle
        # Raw driver events: cuda.core's Event objects cost several µs per record from Python,
        # which is host overhead in every timed iteration.
        self._flags = (driver.CUevent_flags.CU_EVENT_BLOCKING_SYNC if timing.sync == "blocking"
                       else driver.CUevent_flags.CU_EVENT_DEFAULT)
        self._pool: list[Any] = []
        self._hold: Any = None
        if timing.hold_stream:
            from harness.kernels import StreamHold

            self._hold = StreamHold(self.stream)
        graph = timing.cuda_graph or (engine is not None and engine.replays_cuda_graph)
        # None: auto, probed after the warm-up (unless chosen before: ``Case.chosen_mode``)
        self.mode_choice = mode.fixed(timing, graph, chosen)
        self.runs_per_sample = self.mode_choice.batch_iterations if self.mode_choice else 1
        if timing.cold != "off" and timing.mode == "batched":
            raise ConfigError("timing.cold needs timing.mode = 'per-iteration': in batched mode "
                              "only the first of the N inferences would be cold")
        self.enqueue_ms: list[float] = []
        self.enqueue_all_ms: list[float] = []
        self.stages_ms: dict[str, list[float]] = {}
        self.graphs: list[CudaGraph] = []
        self.graph_nodes: int | None = None
        self.rotation: int = 0
        self._set = 0
        self._flush_buf: Any = None
        self._flush_bytes = 0
        self._copies = engine is not None and engine.enqueues_copies
        self.probe = None
        if sm_clock_probe:
            from harness.kernels import SmClockProbe

            self.probe = SmClockProbe(self.stream)
        self._nvtx_iter = None
        if timing.nvtx_per_iteration:
            from harness.markers import iteration_range

            self._nvtx_iter = iteration_range()

    # -- set-up --------------------------------------------------------------------------
    def prepare(self, run: Callable[[], None]) -> Callable[[], None]:
        """What the warm-up and the timed loop call: ``run`` itself, or its CUDA-graph launch;
        with the copies inside when ``timing.transfers`` is on. Called again after the engine
        re-placed its buffers (:meth:`Engine.relayout`), it releases the previous step's
        graphs and flush buffer first: they point at the old buffers."""
        self._release_step()
        step = run
        if self.timing.transfers and self._copies:
            h2d, d2h = self.engine.enqueue_h2d, self.engine.enqueue_d2h

            def step() -> None:
                h2d()
                run()
                d2h()
        if self.timing.cold == "l2-flush":
            l2 = gpu.properties()["l2_bytes"]
            self._flush_bytes = 2 * l2
            self._flush_buf = self.device.allocate(self._flush_bytes, stream=self.stream)
        elif self.timing.cold == "rotate-inputs":
            self.rotation = self._prepare_rotation()
        if not self.timing.cuda_graph:
            return self._rotating(step) if self.rotation else step
        if self.engine is None or not self.engine.supports_cuda_graph:
            raise ConfigError("timing.cuda_graph is on but this engine cannot be captured into "
                              "a CUDA graph (its backend does its own graph: e.g. torch mode "
                              "'graph')")
        step()                      # one eager run first: lazy allocations happen outside capture
        self.stream.sync()
        sets = range(self.rotation) if self.rotation else [None]
        for i in sets:
            if i is not None:
                self.engine.select_input_set(i)
            self.graphs.append(CudaGraph(self.stream, step))
        self.graph_nodes = self.graphs[0].nodes
        if len(self.graphs) == 1:
            return self.graphs[0].launch
        launches = [g.launch for g in self.graphs]
        state = {"i": 0}

        def replay() -> None:
            i = state["i"]
            state["i"] = (i + 1) % len(launches)
            launches[i]()
        return replay

    def warmup_step(self, run: Callable[[], None]) -> Callable[[], None]:
        """Warm-up waits for each inference: unsynchronised, the host would queue seconds of
        GPU work while its clock says the warm-up is over."""
        sync = self.stream.sync

        def step() -> None:
            run()
            sync()
        return step

    def _prepare_rotation(self) -> int:
        if self.engine is None or not self.engine.rotates_inputs:
            raise ConfigError("timing.cold = 'rotate-inputs' needs an engine with input sets "
                              "(this one has none); use cold = 'l2-flush'")
        return int(self.engine.prepare_input_sets(gpu.properties()["l2_bytes"]))

    def _rotating(self, step: Callable[[], None]) -> Callable[[], None]:
        select, n = self.engine.select_input_set, self.rotation
        state = {"i": 0}

        def run() -> None:
            i = state["i"]
            state["i"] = (i + 1) % n
            select(i)
            step()
        return run

    def choose_mode(self, run: Callable[[], None], warm_pace_ms: float,
                    given: mode.ModeChoice | None = None) -> mode.ModeChoice | None:
        if self.mode_choice is None:
            self.mode_choice = given or mode.choose(warm_pace_ms, lambda: self._probe_ms(run))
            self.runs_per_sample = self.mode_choice.batch_iterations
        return self.mode_choice

    def _probe_ms(self, run: Callable[[], None]) -> float:
        """Median ms of :data:`~harness.timing.mode.PROBE_SAMPLES` single timed inferences;
        like the warm-up, none of it is recorded."""
        kept = len(self.enqueue_ms), len(self.enqueue_all_ms)
        self.runs_per_sample = 1
        samples = sorted(self.sample(run, mode.PROBE_SAMPLES))
        del self.enqueue_ms[kept[0]:], self.enqueue_all_ms[kept[1]:]
        return samples[len(samples) // 2] * 1e3

    def _events(self, n: int) -> list[Any]:
        while len(self._pool) < n:
            self._pool.append(gpu.check(self._driver.cuEventCreate(self._flags)))
        return self._pool

    def _elapsed(self, a: Any, b: Any) -> float:
        return float(gpu.check(self._driver.cuEventElapsedTime(a, b)))

    def _flush(self) -> None:
        from cuda.bindings import driver

        driver.cuMemsetD8Async(int(self._flush_buf.handle), self._set & 0xFF,
                               self._flush_bytes, self.stream.handle)
        self._set += 1

    # -- the timed loop ------------------------------------------------------------------
    def sample(self, run: Callable[[], None], count: int) -> list[float]:
        """Time ``count`` samples; seconds per inference each."""
        n = self.runs_per_sample
        pool = self._events(2 * count)
        rec, sh, clock = self._driver.cuEventRecord, self._sh, time.perf_counter_ns
        flush = self._flush if self._flush_buf is not None else None
        it = self._nvtx_iter
        enq: list[int] = []
        if self.probe is not None:
            self.probe.probe()
        if self._hold is not None:
            self._hold.hold()
        for i in range(count):
            a, b = pool[2 * i], pool[2 * i + 1]
            if flush is not None:
                flush()
            if it is not None:
                it.push()
            rec(a, sh)
            t0 = clock()
            for _ in range(n):
                run()
            t1 = clock()
            rec(b, sh)
            if it is not None:
                it.pop()
            enq.append(t1 - t0)
        if self._hold is not None:
            self._hold.release()
        self._wait(pool[2 * count - 1])
        elapsed = [self._elapsed(pool[2 * i], pool[2 * i + 1]) for i in range(count)]
        # Enqueue time from the first iterations after the sync only: later in a chunk the
        # launch queue can fill, and a launch that blocks on a full queue is the GPU's pace,
        # not the host's (it would make every GPU-bound case look enqueue-bound).
        self.enqueue_ms.extend(e * 1e-6 / n for e in enq[:ENQUEUE_WINDOW])
        self.enqueue_all_ms.extend(e * 1e-6 / n for e in enq)
        return [ms * 1e-3 for ms in analysis.per_inference_ms(elapsed, n)]

    def _wait(self, event: Any) -> None:
        d = self._driver
        if self.timing.sync == "spin":
            ready = d.CUresult.CUDA_SUCCESS
            while d.cuEventQuery(event)[0] != ready:
                pass
        else:
            gpu.check(d.cuEventSynchronize(event))

    def stage_pass(self, run: Callable[[], None], iterations: int = STAGE_PASS_ITERATIONS) -> None:
        """Time H2D, inference and D2H as separate stages (events between them), for the
        stage table and the transfer-bound warning. Run after the measurement, so the timed
        loop itself is what the scenario asked for."""
        if not self._copies:
            return
        pool = self._events(4 * iterations)
        rec, sh = self._driver.cuEventRecord, self._sh
        h2d, d2h = self.engine.enqueue_h2d, self.engine.enqueue_d2h
        with nvtx_range("stages"):
            for i in range(iterations):
                e = pool[4 * i: 4 * i + 4]
                rec(e[0], sh)
                with nvtx_range("h2d"):
                    h2d()
                rec(e[1], sh)
                with nvtx_range("infer"):
                    run()
                rec(e[2], sh)
                with nvtx_range("d2h"):
                    d2h()
                rec(e[3], sh)
        self._wait(pool[4 * iterations - 1])
        marks = [[0.0] + [self._elapsed(pool[4 * i], pool[4 * i + j]) for j in range(1, 4)]
                 for i in range(iterations)]
        for k, v in analysis.stage_split(marks, ("h2d", "infer", "d2h")).items():
            self.stages_ms.setdefault(k, []).extend(v)

    # -- what is recorded ----------------------------------------------------------------
    def record(self, gpu_ms: list[float], cov: float | None) -> tuple[dict[str, Any], list[str]]:
        """The timing facts for ``CaseResult.timing`` and the warnings for the case."""
        facts: dict[str, Any] = {
            "timer": self.name, "runs_per_sample": self.runs_per_sample,
            "graph_nodes": self.graph_nodes, "graphs": len(self.graphs),
            "rotation_sets": self.rotation or None,
            "l2_flush_bytes": self._flush_bytes or None,
            "enqueue_ms": summarize(self.enqueue_ms) if self.enqueue_ms else None,
            "enqueue_all_ms": summarize(self.enqueue_all_ms) if self.enqueue_all_ms else None,
            "enqueue_window": ENQUEUE_WINDOW,
            "copies_available": self._copies, "hold_stream": self._hold is not None,
        }
        if self.probe is not None:
            facts["sm_clock_in_kernel_mhz"] = self.probe.readings_mhz()
        transfer = None
        if "h2d" in self.stages_ms:
            transfer = [a + b for a, b in zip(self.stages_ms["h2d"], self.stages_ms["d2h"],
                                              strict=True)]
        compute = self.stages_ms.get("infer") or gpu_ms
        warns = analysis.warnings_for(gpu_ms, self.enqueue_ms, None, cov)
        facts["enqueue_bound"] = any(w.startswith("enqueue-bound") for w in warns)
        warns += analysis.warnings_for(compute, None, transfer, None)
        return facts, warns

    def _release_step(self) -> None:
        """What :meth:`prepare` made: the graphs and the L2-flush buffer."""
        for g in self.graphs:
            g.close()
        self.graphs.clear()
        if self._flush_buf is not None:
            self._flush_buf.close()
            self._flush_buf = None

    def close(self) -> None:
        self._release_step()
        if self.probe is not None:
            self.probe.close()
        if self._hold is not None:
            self._hold.close()
            self._hold = None
        for ev in self._pool:
            self._driver.cuEventDestroy(ev)
        self._pool.clear()
