"""What a GPU (``is_async``) engine's measurement adds to its case result, after the runner's
common record: the CUDA-event timer's facts (enqueue time, modes), stages, the engine's own
reference timing, and the telemetry window's clocks, settle time and throttling, with their
warnings. The measuring itself is :class:`harness.timing.session.MeasuringSession`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import gpu
from harness.stats import summarize
from harness.timing.measure import Measurement

if TYPE_CHECKING:
    from harness.timing.session import MeasuringSession, TelemetryWindow


def record_gpu(session: MeasuringSession, m: Measurement, result: Any) -> None:
    """Add the GPU facts to ``result`` (after the runner's common record)."""
    timer: Any = session.timer          # the CUDA-event timer (the session is on the GPU)
    cov = (result.stats_ms or {}).get("cv")
    facts, warns = timer.record([s * 1e3 for s in m.samples], cov)
    # the runner's CoV warning already covers "unstable: CoV"
    result.warnings.extend(w for w in warns if not w.startswith("unstable: CoV"))
    result.timing.update(facts)
    if session.case.inject_delay:
        result.warnings.append("inject_delay is a host busy-wait; it does not slow a GPU "
                               "engine's GPU time (use the calibration backend's slowdown)")
    for stage, samples in timer.stages_ms.items():
        st = summarize(samples)
        result.stages[stage] = {k: st[k] for k in ("median", "median_ci_low",
                                                   "median_ci_high", "p99", "n")}
        result.stages[stage]["samples_ms"] = [round(x, 6) for x in samples]
    assert session.engine is not None
    _record_reference(session.engine.reference_timing(), result)
    _record_telemetry(session.window, session.case, m, result)


def _record_reference(truth: dict[str, Any] | None, result: Any) -> None:
    """The engine's own account of its time beside the timer's (calibration kernels)."""
    if truth is None:
        return
    result.timing["reference"] = truth
    per_run = truth.get("per_run_median_ms")
    if per_run and result.stats_ms:
        err = result.stats_ms["median"] - per_run
        truth["timer_minus_reference_ms"] = err
        truth["relative_error"] = err / per_run


def _record_telemetry(window: TelemetryWindow, case: Any, m: Measurement, result: Any) -> None:
    tel = window.result()
    if tel is None:
        result.telemetry = {"gpu": gpu.properties()["name"], "samples": None,
                            "note": window.note or "telemetry disabled"}
        return
    t = case.telemetry
    tel["clocks"] = window.clock_state
    tel["settled_in_warmup"] = m.settled
    probe = result.timing.get("sm_clock_in_kernel_mhz")
    if probe:
        tel["in_kernel_clock"] = _in_kernel_clock(probe, window.clock_state, result)
    result.telemetry = tel
    result.timing["settle_s"] = tel["settle_s"]
    if m.settled is False:
        result.warnings.append(f"warm-up: the SM clock did not settle within "
                               f"{case.warmup.max_time:g} s")
    if tel["unstable"]:
        seen = ", ".join(tel["summary"]["reasons_seen"]) or "?"
        result.warnings.append(f"unstable: {tel['flagged_share']:.1%} of the measured time "
                               f"under a clock slowdown ({seen}) > limit "
                               f"{t.flagged_limit:.1%}")


def _in_kernel_clock(probe: list[float], clocks: dict[str, Any] | None,
                     result: Any) -> dict[str, Any]:
    # nvbench's rule: a sample whose in-kernel SM clock is below 75 % of the maximum was
    # throttled (NVML samples too coarsely to see short dips).
    peak = (clocks or {}).get("sm_max_clock_mhz") or max(probe)
    low = [p for p in probe if p < 0.75 * peak]
    if low:
        result.warnings.append(f"throttled: {len(low)} of {len(probe)} in-kernel SM "
                               f"clock readings below 75% of {peak:g} MHz")
    return {"readings": len(probe), "below_75pct": len(low),
            "min_mhz": min(probe), "max_mhz": max(probe)}
