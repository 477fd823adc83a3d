"""The host timer: ``perf_counter_ns`` around a synchronous call. Right for CPU backends; for
GPU work it would time the enqueue, not the kernels (use the CUDA-event timer there)."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.timing.mode import per_iteration
from harness.timing.timer import Timer


def busy_wait(seconds: float) -> None:
    """Spin (not sleep) so an injected delay is as exact as the clock, not the scheduler."""
    if seconds <= 0:
        return
    end = time.perf_counter_ns() + int(seconds * 1e9)
    while time.perf_counter_ns() < end:
        pass


class HostTimer(Timer):
    name = "host"
    mode_choice = per_iteration("host timer: one call per sample")
    resolution_s = time.get_clock_info("perf_counter").resolution

    def __init__(self, inject_delay: float = 0.0) -> None:
        self.inject_delay = inject_delay

    def sample(self, run: Callable[[], None], count: int) -> list[float]:
        """Time ``count`` calls of ``run`` one by one; seconds per call."""
        out = []
        clock, delay = time.perf_counter_ns, self.inject_delay
        for _ in range(count):
            t0 = clock()
            run()
            if delay:
                busy_wait(delay)
            out.append((clock() - t0) * 1e-9)
        return out
