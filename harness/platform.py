"""The platform fingerprint: the facts that decide which baseline applies. Results are never
compared across platforms that differ (GPU, driver, CUDA, CPU for CPU runs); backend versions
and precision are checked per case. Environment facts come from this one place, as
pytest-benchmark's machine info does."""

from __future__ import annotations

import os
import platform as _platform
import re
import sys
from functools import cache
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return _platform.processor() or _platform.machine()


@cache
def gpu_info() -> dict[str, Any] | None:
    """GPU 0's name, compute capability, driver and CUDA driver version through NVML, or None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        name = pynvml.nvmlDeviceGetName(h)
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(h)
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "compute_capability": f"{major}.{minor}",
            "driver": _text(pynvml.nvmlSystemGetDriverVersion()),
            "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}",
            "memory_total": int(pynvml.nvmlDeviceGetMemoryInfo(h).total),
            "count": int(pynvml.nvmlDeviceGetCount()),
        }
    except Exception:
        return None


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@cache
def fingerprint() -> dict[str, Any]:
    """Everything recorded about the machine a run measured on."""
    return {
        "host": {
            "cpu": _cpu_model(), "cores": os.cpu_count(), "machine": _platform.machine(),
            "os": f"{_platform.system()} {_platform.release()}",
            "python": sys.version.split()[0],
        },
        "gpu": gpu_info(),
    }


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def platform_id(fp: dict[str, Any] | None = None) -> str:
    """The baseline directory for this platform: the GPU and driver where there is a GPU, the
    CPU model and core count otherwise (CPU cases measure the CPU)."""
    fp = fp or fingerprint()
    gpu = fp.get("gpu")
    if gpu:
        return slug(f"{gpu['name']}-sm{gpu['compute_capability']}-drv{gpu['driver']}")
    host = fp["host"]
    return slug(f"cpu-{host['cpu']}-{host['cores']}c-{host['machine']}")


COMPARED_KEYS = {"gpu": ("name", "compute_capability", "driver", "cuda_driver"),
                 "host": ("cpu", "cores", "machine")}


def platform_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable list of what differs between two fingerprints in the compared keys."""
    out = []
    for section, keys in COMPARED_KEYS.items():
        sa, sb = a.get(section) or {}, b.get(section) or {}
        if section == "gpu" and (not sa) != (not sb):
            out.append(f"GPU: {sa.get('name', 'none')} vs {sb.get('name', 'none')}")
            continue
        out.extend(f"{section} {k}: {sa.get(k)!r} vs {sb.get(k)!r}"
                   for k in keys if sa.get(k) != sb.get(k))
    return out
