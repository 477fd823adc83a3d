"""The NVML sampler: a background thread that reads the GPU's clocks, clock-event (throttle)
reasons, power, temperature, memory used and utilisation every ``interval_s`` while a case
warms up and is measured. It only reads: nothing here changes a GPU setting.

The thread costs the timed loop little: one sample is ~20 µs of NVML calls (see
``trt-harness selftest``) every 20 ms by default, and NVML calls release the GIL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness.telemetry import analysis

FIELDS = ("t_s", "sm_clock_mhz", "mem_clock_mhz", "power_w", "temp_c", "mem_used_bytes",
          "util_pct", "throttle_reasons")


def nvml_unavailable_reason() -> str | None:
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py (pynvml) is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        return f"NVML could not be initialised ({exc})"
    return None


def device_handle(uuid: str | None = None) -> Any:
    """The NVML handle of the CUDA device in use: matched by UUID (NVML's order can differ
    from CUDA's when CUDA_VISIBLE_DEVICES is set), else NVML device 0."""
    import pynvml

    pynvml.nvmlInit()
    if uuid:
        for text in (uuid, f"GPU-{uuid}"):
            try:
                return pynvml.nvmlDeviceGetHandleByUUID(text)
            except Exception:
                continue
    return pynvml.nvmlDeviceGetHandleByIndex(0)


def _readers(h: Any) -> dict[str, Callable[[], Any]]:
    import pynvml

    reasons = getattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        pynvml.nvmlDeviceGetCurrentClocksThrottleReasons
    return {
        "sm_clock_mhz": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
        "mem_clock_mhz": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
        "power_w": lambda: pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
        "temp_c": lambda: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
        "mem_used_bytes": lambda: int(pynvml.nvmlDeviceGetMemoryInfo(h).used),
        "util_pct": lambda: pynvml.nvmlDeviceGetUtilizationRates(h).gpu,
        "throttle_reasons": lambda: int(reasons(h)),
    }


class NvmlSampler:
    """Use as a context manager, or ``start()`` / ``stop()``. ``mark(name)`` records a phase
    boundary (warm-up, measure) on the sampler's clock; ``telemetry()`` gives the result."""

    def __init__(self, interval_s: float = 0.02, uuid: str | None = None,
                 mask: int = analysis.SLOWDOWN_MASK, settle_window_s: float = 0.1,
                 settle_tolerance: float = 0.01) -> None:
        import pynvml

        self.interval_s = interval_s
        self.mask = mask
        self.settle_window_s = settle_window_s
        self.settle_tolerance = settle_tolerance
        self.handle = device_handle(uuid)
        name = pynvml.nvmlDeviceGetName(self.handle)
        self.gpu = name.decode() if isinstance(name, bytes) else str(name)
        self._readers = _readers(self.handle)
        self.samples: dict[str, list[Any]] = {k: [] for k in FIELDS}
        self.unsupported: list[str] = []
        self.phases: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self._checked_at, self._settled = -1, False

    # -- sampling ---------------------------------------------------------------------
    def sample_once(self) -> None:
        row: dict[str, Any] = {"t_s": time.perf_counter() - self._t0}
        for key, read in list(self._readers.items()):
            try:
                row[key] = read()
            except Exception as exc:     # NotSupported on this GPU: stop asking, record why
                self._readers.pop(key)
                self.unsupported.append(f"{key}: {exc}")
                row[key] = None
        for key in FIELDS:
            self.samples[key].append(row.get(key, 0 if key == "throttle_reasons" else None))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception as exc:    # never let telemetry kill a measurement
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return
            self._stop.wait(self.interval_s)

    def start(self) -> NvmlSampler:
        self._thread = threading.Thread(target=self._loop, name="nvml-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.sample_once()           # one last reading at the end of the measurement

    def __enter__(self) -> NvmlSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def mark(self, phase: str) -> None:
        self.phases[phase] = time.perf_counter() - self._t0

    # -- reading ----------------------------------------------------------------------
    def settled(self) -> bool:
        """The warm-up hook: has the SM clock been flat over the trailing window?"""
        n = len(self.samples["sm_clock_mhz"])
        if n == self._checked_at:        # called every warm-up iteration: only new samples
            return self._settled          # can change the answer
        t = self.samples["t_s"][:n]
        sm = self.samples["sm_clock_mhz"][:n]
        if not sm:
            result = False
        elif sm[-1] is None:
            result = True                 # no SM clock readable: do not hold warm-up
        else:
            tail = max(0, n - int(2 * self.settle_window_s / self.interval_s) - 4)
            result = analysis.is_settled(t[tail:], sm[tail:], self.settle_window_s,
                                         self.settle_tolerance)
        self._checked_at, self._settled = n, result
        return result

    def telemetry(self, flagged_limit: float) -> dict[str, Any]:
        """The ``CaseResult.telemetry`` record (see the data contract in results.py)."""
        s = self.samples
        flagged = analysis.flag_samples(s["throttle_reasons"], self.mask)
        measure = (self.phases.get("measure_start"), self.phases.get("measure_end"))
        window = measure if None not in measure else None
        idx = [i for i, t in enumerate(s["t_s"]) if window is None or window[0] <= t <= window[1]]
        share = analysis.flagged_share([s["t_s"][i] for i in idx], [flagged[i] for i in idx])
        settle = None
        if "warmup_start" in self.phases:
            t0 = self.phases["warmup_start"]
            sel = [i for i, t in enumerate(s["t_s"]) if t >= t0 and s["sm_clock_mhz"][i]]
            found = analysis.settle_time([s["t_s"][i] for i in sel],
                                         [s["sm_clock_mhz"][i] for i in sel],
                                         self.settle_window_s, self.settle_tolerance)
            settle = None if found is None else found - t0
        return {
            "gpu": self.gpu, "interval_s": self.interval_s,
            "samples": {k: [round(v, 6) if isinstance(v, float) else v for v in s[k]]
                        for k in FIELDS} | {"flagged": flagged},
            "phases": dict(self.phases), "flagged_share": share,
            "flagged_limit": flagged_limit, "unstable": share > flagged_limit,
            "settle_s": settle, "slowdown_mask": self.mask,
            "summary": analysis.summarize(s, flagged, window),
            "unsupported": self.unsupported, "errors": self.errors,
        }
