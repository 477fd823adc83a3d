"""benchmarks/device/spin_state.py's tabulation: each figure's between-process and
within-process ranges, per kind of preparation and timing mode, never mixing them."""

from __future__ import annotations

from benchmark_modules import load

spin_state = load("device.spin_state")


def _prep(kind: str, mode: str, timer: float, **more: float) -> dict:
    return {"kind": kind, "mode": mode, "timer_median_us": timer, **more}


def test_spread_separates_processes_preparations_kinds_and_modes():
    processes = [
        {"preparations": [_prep("recording", "per-iteration", 14.0, in_kernel_median_us=10.0),
                          _prep("recording", "per-iteration", 14.1, in_kernel_median_us=10.0),
                          _prep("silent", "per-iteration", 13.7),
                          _prep("recording", "batched", 11.6)]},
        {"preparations": [_prep("recording", "per-iteration", 13.5, in_kernel_median_us=10.0),
                          _prep("recording", "per-iteration", 13.5, in_kernel_median_us=10.0),
                          _prep("silent", "per-iteration", 13.2),
                          _prep("recording", "batched", 11.4)]},
    ]
    line = spin_state.spread(processes, "recording per-iteration", "timer_median_us")
    # levels: the median of each process's preparations (14.05, 13.5); ranges in % of
    # the median of the levels (13.775)
    assert "process levels 13.500-14.050 µs (range 3.99 %)" in line
    assert "largest range within one process 0.73 %" in line
    assert "13.200-13.700" in spin_state.spread(processes, "silent per-iteration",
                                                "timer_median_us")
    assert "11.400-11.600" in spin_state.spread(processes, "recording batched",
                                                "timer_median_us")
    assert "(range 0.00 %)" in spin_state.spread(processes, "recording per-iteration",
                                                 "in_kernel_median_us")
    assert spin_state.spread(processes, "silent batched", "timer_median_us") == (
        "silent batched timer_median_us: none")
    # records saved before modes existed read as per-iteration
    old = [{"preparations": [{"kind": "silent", "timer_median_us": 13.0}]}]
    assert "13.000-13.000" in spin_state.spread(old, "silent per-iteration", "timer_median_us")
    assert "| 1 | recording per-iteration | 14.000 14.100 | 10.000 10.000 |" in (
        spin_state.table(processes))
