"""Pure functions over recorded telemetry samples: which samples were taken during a
slowdown, how much of the time that was, and when the SM clock settled. No NVML, no I/O, so
they are tested on the CPU against recorded or made-up series."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

# NVML clock-event ("throttle") reason bits (nvml.h, nvmlClocksEventReason*): stable ABI.
REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
    0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}
# Reasons that mean the clock was pulled down by power, heat or the hardware: a sample taken
# then does not measure the workload at its normal clock. (Idle, application clocks and sync
# boost are states, not slowdowns.)
SLOWDOWN_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80


def reason_names(bits: int) -> list[str]:
    return [name for bit, name in REASONS.items() if bits & bit]


def flag_samples(reasons: Sequence[int], mask: int = SLOWDOWN_MASK) -> list[bool]:
    """True for each sample whose clock-event reasons include a slowdown in ``mask``."""
    return [bool(int(r) & mask) for r in reasons]


def flagged_share(t_s: Sequence[float], flagged: Sequence[bool]) -> float:
    """Share of the sampled *time* that was flagged. Each sample stands for the interval up to
    the next one (the last for the median interval), so an irregular sampling rate does not
    weigh some samples more. 0.0 for no samples."""
    n = len(t_s)
    if n == 0:
        return 0.0
    if n == 1:
        return 1.0 if flagged[0] else 0.0
    gaps = [max(t_s[i + 1] - t_s[i], 0.0) for i in range(n - 1)]
    gaps.append(median(gaps))
    total = sum(gaps)
    if total <= 0:
        return sum(flagged) / n
    return sum(g for g, f in zip(gaps, flagged, strict=True) if f) / total


def settle_time(t_s: Sequence[float], sm_mhz: Sequence[float], window_s: float = 0.1,
                tolerance: float = 0.01, min_samples: int = 3) -> float | None:
    """The first time at which the SM clock has stayed within ``tolerance`` (relative) of its
    value for the preceding ``window_s`` and ``min_samples`` samples, i.e. has stopped rising
    from idle; ``None`` if it never did. The window ends at the returned time."""
    start = 0
    for end in range(len(t_s)):
        # shrink from the left until the window spans no more than window_s
        while start < end and t_s[end] - t_s[start] > window_s:
            start += 1
        span = t_s[end] - t_s[start]
        if end - start + 1 < min_samples or span < window_s * 0.8:
            continue
        window = sm_mhz[start:end + 1]
        hi, lo = max(window), min(window)
        if hi > 0 and (hi - lo) / hi <= tolerance:
            return float(t_s[end])
    return None


def is_settled(t_s: Sequence[float], sm_mhz: Sequence[float], window_s: float = 0.1,
               tolerance: float = 0.01, min_samples: int = 3) -> bool:
    """Is the clock settled *now* (the trailing window is flat)? The warm-up loop's hook."""
    if not t_s:
        return False
    end = len(t_s) - 1
    start = end
    while start > 0 and t_s[end] - t_s[start - 1] <= window_s:
        start -= 1
    if end - start + 1 < min_samples or t_s[end] - t_s[start] < window_s * 0.8:
        return False
    window = sm_mhz[start:]
    hi = max(window)
    return hi > 0 and (hi - min(window)) / hi <= tolerance


def _stats(values: Sequence[float]) -> dict[str, float] | None:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "median": median(vals), "max": max(vals)}


def summarize(samples: dict[str, list[Any]], flagged: Sequence[bool],
              window: tuple[float, float] | None = None) -> dict[str, Any]:
    """Per-quantity min/median/max over the samples (or those inside ``window``, seconds), the
    reasons seen and how often. Empty input gives an empty summary, never an error."""
    t = samples.get("t_s", [])
    idx = [i for i, ti in enumerate(t) if window is None or window[0] <= ti <= window[1]]
    out: dict[str, Any] = {"n": len(idx)}
    for key in ("sm_clock_mhz", "mem_clock_mhz", "power_w", "temp_c", "mem_used_bytes",
                "util_pct"):
        series = samples.get(key) or []
        out[key] = _stats([series[i] for i in idx if i < len(series)])
    seen: dict[str, int] = {}
    for i in idx:
        for name in reason_names(int(samples["throttle_reasons"][i])):
            seen[name] = seen.get(name, 0) + 1
    out["reasons_seen"] = seen
    out["flagged_samples"] = sum(1 for i in idx if flagged[i])
    return out
