"""The clock state of the GPU, read (never set) once per case: application clocks (current
target and default), maximum clocks, whether clocks are held by a lock or application-clock
setting, persistence mode, power limits. Figures taken under locked clocks differ from
figures under boost: the state is recorded beside them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.telemetry.analysis import reason_names


def _try(read: Callable[[], Any]) -> Any:
    try:
        value = read()
    except Exception:
        return None       # not supported on this GPU / driver: recorded as unknown
    return value.decode() if isinstance(value, bytes) else value


def clock_state(handle: Any) -> dict[str, Any]:
    import pynvml as n

    sm, mem = n.NVML_CLOCK_SM, n.NVML_CLOCK_MEM
    reasons = getattr(n, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        n.nvmlDeviceGetCurrentClocksThrottleReasons
    current = _try(lambda: int(reasons(handle)))
    state = {
        "sm_app_clock_mhz": _try(lambda: n.nvmlDeviceGetApplicationsClock(handle, sm)),
        "mem_app_clock_mhz": _try(lambda: n.nvmlDeviceGetApplicationsClock(handle, mem)),
        "sm_default_app_clock_mhz": _try(lambda: n.nvmlDeviceGetDefaultApplicationsClock(handle,
                                                                                          sm)),
        "mem_default_app_clock_mhz": _try(lambda: n.nvmlDeviceGetDefaultApplicationsClock(
            handle, mem)),
        "sm_max_clock_mhz": _try(lambda: n.nvmlDeviceGetMaxClockInfo(handle, sm)),
        "mem_max_clock_mhz": _try(lambda: n.nvmlDeviceGetMaxClockInfo(handle, mem)),
        "sm_clock_mhz": _try(lambda: n.nvmlDeviceGetClockInfo(handle, sm)),
        "persistence_mode": _try(lambda: bool(n.nvmlDeviceGetPersistenceMode(handle))),
        "power_limit_w": _try(lambda: n.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0),
        "default_power_limit_w": _try(lambda: n.nvmlDeviceGetPowerManagementDefaultLimit(handle)
                                      / 1000.0),
        "compute_mode": _try(lambda: int(n.nvmlDeviceGetComputeMode(handle))),
        "reasons_now": reason_names(current) if current is not None else None,
    }
    app, default = state["sm_app_clock_mhz"], state["sm_default_app_clock_mhz"]
    # Locked clocks (nvidia-smi -lgc) or non-default application clocks show up as the
    # "applications clocks setting" / "user defined clocks" reason or a changed app clock.
    state["locked_or_app_clocks"] = bool(
        (current is not None and current & 0x2)
        or (app is not None and default is not None and app != default))
    return state
