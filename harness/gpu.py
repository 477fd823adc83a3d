"""Access to the CUDA device through ``cuda.core``, imported lazily.

Importing the harness never touches the GPU: the first caller that needs one gets the device
(made current) or a :class:`~harness.errors.CaseSkipped` naming why there is none, so a
GPU case on a CPU-only machine is skipped with the reason, never failed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from harness.errors import CaseSkipped


@cache
def unavailable_reason() -> str | None:
    """``None`` when a CUDA GPU can be used here, else why not."""
    try:
        import cuda.core  # noqa: F401
        from cuda.bindings import driver
    except ImportError:
        return "cuda-python (cuda.core) is not installed (pip install cuda-python)"
    try:
        err, = driver.cuInit(0)
        if err != driver.CUresult.CUDA_SUCCESS:
            return f"no usable CUDA driver or GPU (cuInit: {err.name})"
        err, count = driver.cuDeviceGetCount()
        if err != driver.CUresult.CUDA_SUCCESS or count < 1:
            return "no CUDA GPU on this machine"
    except Exception as exc:     # no driver library at all
        return f"no usable CUDA GPU ({type(exc).__name__}: {exc})"
    return None


@cache
def device() -> Any:
    """The CUDA device (``cuda.core.Device``), made current on first use."""
    reason = unavailable_reason()
    if reason:
        raise CaseSkipped(reason)
    from cuda.core import Device

    dev = Device(0)
    dev.set_current()
    return dev


def ensure_current() -> Any:
    """Make the device's context current on the calling thread (contexts are per thread)."""
    dev = device()
    dev.set_current()
    return dev


def new_stream() -> Any:
    """A new non-blocking stream owned by cuda.core (destroyed with the object). Not for
    work that torch also sees: use :func:`harness_stream` there."""
    from cuda.core import StreamOptions

    return ensure_current().create_stream(options=StreamOptions(nonblocking=True))


@cache
def harness_stream() -> Any:
    """The harness's one dedicated non-blocking stream, alive for the whole process.

    Created through the driver and wrapped without ownership: torch's caching allocator
    remembers the streams its blocks were used on and records events on them when tensors
    are freed (even at interpreter exit), so this stream must never be destroyed under it."""
    from cuda.bindings import driver
    from cuda.core import Stream

    ensure_current()
    handle = check(driver.cuStreamCreate(driver.CUstream_flags.CU_STREAM_NON_BLOCKING))
    _KEEP.append(handle)
    return Stream.from_handle(int(handle))


_KEEP: list[Any] = []


def stream_handle(stream: Any) -> int:
    """The raw ``CUstream`` of a cuda.core stream, as an int (for torch, TensorRT)."""
    return int(stream.handle)


def properties() -> dict[str, Any]:
    """The device facts timing depends on (SM count, L2 size, clock rates)."""
    dev = device()
    p = dev.properties
    return {"name": dev.name, "compute_capability": ".".join(map(str, dev.compute_capability)),
            "sm_count": int(p.multiprocessor_count), "l2_bytes": int(p.l2_cache_size),
            "clock_rate_khz": int(p.clock_rate), "memory_clock_rate_khz": int(p.memory_clock_rate)}


def check(result: Any) -> Any:
    """Unwrap a ``cuda.bindings`` call's ``(err, *values)``, raising on an error."""
    from cuda.bindings import driver

    err, *values = result if isinstance(result, tuple) else (result,)
    if err != driver.CUresult.CUDA_SUCCESS:
        _, name = driver.cuGetErrorName(err)
        raise RuntimeError(f"CUDA driver error {name.decode() if name else err}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
