"""Measuring one GPU (``is_async``) engine: the CUDA-event timer on a dedicated stream handed
to the engine before it binds, the NVML sampler running beside warm-up and measurement, the
warm-up ending when the SM clock has settled, and everything recorded into the case result
(timing choices, enqueue time, stages, telemetry, warnings)."""

from __future__ import annotations

from typing import Any

from harness import gpu
from harness.markers import nvtx_range
from harness.stats import summarize
from harness.timing.cuda import CudaTimer
from harness.timing.measure import Measurement, measure


class GpuCaseMeasurement:
    """``with GpuCaseMeasurement(case, engine) as g: engine.bind(feed); m = g.measure()``."""

    def __init__(self, case: Any, engine: Any) -> None:
        self.case = case
        self.engine = engine
        self.timer = CudaTimer(case.timing, engine=engine,
                               sm_clock_probe=case.telemetry.sm_clock_probe)
        engine.set_stream(self.timer.stream)
        self.sampler: Any = None
        self.clock_state: dict[str, Any] | None = None
        self.telemetry_note: str | None = None
        if case.telemetry.enabled:
            self._start_sampler()

    def _start_sampler(self) -> None:
        from harness.telemetry.nvml import NvmlSampler, nvml_unavailable_reason

        reason = nvml_unavailable_reason()
        if reason:
            self.telemetry_note = f"no telemetry: {reason}"
            return
        t = self.case.telemetry
        try:
            uuid = gpu.device().uuid
        except Exception:
            uuid = None
        self.sampler = NvmlSampler(interval_s=t.interval, uuid=uuid,
                                   settle_window_s=t.settle_window,
                                   settle_tolerance=t.settle_tolerance)
        from harness.telemetry.clocks import clock_state

        self.clock_state = clock_state(self.sampler.handle)

    def __enter__(self) -> GpuCaseMeasurement:
        if self.sampler is not None:
            self.sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sampler is not None and self.sampler._thread is not None \
                and not self.sampler._stop.is_set():
            self.sampler.stop()
        self.timer.close()

    def _phase(self, name: str) -> None:
        if self.sampler is not None:
            self.sampler.mark(name)
        if name == "measure_start":
            self.engine.on_measure_start()

    def measure(self) -> Measurement:
        case = self.case
        settled = self.sampler.settled if self.sampler is not None else None
        m = measure(self.engine.run, self.timer, case.warmup, case.stop, settled, self._phase)
        self.timer.stage_pass(self.engine.run)
        if self.sampler is not None:
            with nvtx_range("telemetry"):
                self.sampler.stop()
        return m

    def record(self, m: Measurement, result: Any) -> None:
        """Add the GPU facts to ``result`` (after the runner's common record)."""
        cov = (result.stats_ms or {}).get("cv")
        facts, warns = self.timer.record([s * 1e3 for s in m.samples], cov)
        # the runner's CoV warning already covers "unstable: CoV"
        result.warnings.extend(w for w in warns if not w.startswith("unstable: CoV"))
        result.timing.update(facts)
        if self.case.inject_delay:
            result.warnings.append("inject_delay is a host busy-wait; it does not slow a GPU "
                                   "engine's GPU time (use the calibration backend's slowdown)")
        for stage, samples in self.timer.stages_ms.items():
            st = summarize(samples)
            result.stages[stage] = {k: st[k] for k in ("median", "median_ci_low",
                                                       "median_ci_high", "p99", "n")}
            result.stages[stage]["samples_ms"] = [round(x, 6) for x in samples]
        truth = self.engine.reference_timing()
        if truth is not None:
            result.timing["reference"] = truth
            per_run = truth.get("per_run_median_ms")
            if per_run and result.stats_ms:
                err = result.stats_ms["median"] - per_run
                truth["timer_minus_reference_ms"] = err
                truth["relative_error"] = err / per_run
        self._record_telemetry(m, result)

    def _record_telemetry(self, m: Measurement, result: Any) -> None:
        if self.sampler is None:
            result.telemetry = {"gpu": gpu.properties()["name"], "samples": None,
                                "note": self.telemetry_note or "telemetry disabled"}
            return
        t = self.case.telemetry
        tel = self.sampler.telemetry(t.flagged_limit)
        tel["clocks"] = self.clock_state
        tel["settled_in_warmup"] = m.settled
        probe = result.timing.get("sm_clock_in_kernel_mhz")
        if probe:
            # nvbench's rule: a sample whose in-kernel SM clock is below 75 % of the maximum
            # was throttled (NVML samples too coarsely to see short dips).
            peak = (self.clock_state or {}).get("sm_max_clock_mhz") or max(probe)
            low = [p for p in probe if p < 0.75 * peak]
            tel["in_kernel_clock"] = {"readings": len(probe), "below_75pct": len(low),
                                      "min_mhz": min(probe), "max_mhz": max(probe)}
            if low:
                result.warnings.append(f"throttled: {len(low)} of {len(probe)} in-kernel SM "
                                       f"clock readings below 75% of {peak:g} MHz")
        result.telemetry = tel
        result.timing["settle_s"] = tel["settle_s"]
        if m.settled is False:
            result.warnings.append(f"warm-up: the SM clock did not settle within "
                                   f"{self.case.warmup.max_time:g} s")
        if tel["unstable"]:
            seen = ", ".join(tel["summary"]["reasons_seen"]) or "?"
            result.warnings.append(f"unstable: {tel['flagged_share']:.1%} of the measured time "
                                   f"under a clock slowdown ({seen}) > limit "
                                   f"{t.flagged_limit:.1%}")
