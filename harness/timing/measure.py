"""The measurement loop: warm-up, then samples until the stopping criterion says enough.

It knows nothing of statistics (the criterion decides) nor of which timer it drives: a
:class:`~harness.timing.timer.Timer`, whose ``prepare(run)`` (e.g. capture a CUDA graph),
``warmup_step(run)`` (e.g. wait for the GPU), ``choose_mode`` (an auto timing mode, after the
warm-up) and ``runs_per_sample`` (batched timing) the loop always uses (the defaults change
nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.markers import nvtx_range
from harness.scenario.schema import StopRule, Warmup
from harness.telemetry import host
from harness.timing.stopping import StoppingCriterion
from harness.timing.timer import Timer as Timer  # the contract; imported from here too


@dataclass
class Measurement:
    samples: list[float]                     # seconds per inference, in order taken
    timer: str
    warmup_s: float
    warmup_iterations: int
    wall_s: float
    stop_reason: str
    settled: bool | None = None              # GPU: did the SM clock settle during warm-up?
    extra: dict[str, Any] = field(default_factory=dict)


def warm_up(run: Callable[[], None], rule: Warmup,
            settled: Callable[[], bool] | None = None) -> tuple[float, int, bool | None]:
    """Run until ``min_time`` and ``min_iterations`` are reached and, when ``settled`` is given
    (the GPU clock watch), until it says so, or ``max_time`` passes."""
    start = time.perf_counter()
    n = 0
    is_settled: bool | None = None
    with nvtx_range("warmup"):
        while True:
            run()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= rule.max_time:
                if settled is not None:
                    is_settled = settled()
                break
            if elapsed < rule.min_time or n < rule.min_iterations:
                continue
            if settled is None:
                break
            is_settled = settled()
            if is_settled:
                break
    return time.perf_counter() - start, n, is_settled


def _noop(_: str) -> None:
    pass


def measure(run: Callable[[], None], timer: Timer, warmup: Warmup, stop: StopRule,
            settled: Callable[[], bool] | None = None,
            phase: Callable[[str], None] = _noop) -> Measurement:
    """``phase`` is told "warmup_start", "measure_start" and "measure_end" (the telemetry
    sampler marks them on its clock)."""
    run = timer.prepare(run)
    warm = timer.warmup_step(run)
    phase("warmup_start")
    warm_s, warm_n, is_settled = warm_up(warm, warmup, settled)
    chosen = timer.choose_mode(run, warm_s / max(warm_n, 1) * 1e3)    # an auto one, once warm
    # Sample in chunks of about 20 ms so the criterion's bookkeeping stays off the hot path
    # for fast models while slow models are still checked after every inference.
    per_call = warm_s / max(warm_n, 1) * timer.runs_per_sample
    chunk = max(1, min(1000, stop.max_samples,
                       int(0.02 / per_call) if per_call > 0 else 1000))
    criterion = StoppingCriterion(stop)
    phase("measure_start")
    # Host-timed work competes with whatever else runs on the CPU: /proc counters around the
    # measuring window say what did (harness.telemetry.host; two reads of /proc per window).
    before = host.snapshot() if timer.name == "host" else None
    start = time.perf_counter()
    with nvtx_range("measure"):
        while True:
            criterion.extend(timer.sample(run, chunk), time.perf_counter() - start)
            if criterion.is_finished():
                break
    wall = time.perf_counter() - start
    extra: dict[str, Any] = {"rel_ci": criterion.rel_ci}
    if chosen is not None:
        extra["mode"] = chosen.facts()
    if before is not None:
        after = host.snapshot()
        load = host.host_load(before, after) if after is not None else None
        if load is not None:
            extra["host"] = load.to_json()
    phase("measure_end")
    return Measurement(samples=criterion.samples, timer=timer.name, warmup_s=warm_s,
                       warmup_iterations=warm_n, wall_s=wall,
                       stop_reason=criterion.reason, settled=is_settled, extra=extra)
