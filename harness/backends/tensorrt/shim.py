"""Which TensorRT is here: the one import shim shared by TensorRT 10, TensorRT 11 and
TensorRT-RTX. Their builder/parser/runtime APIs have the same shape; what differs is captured
once in :class:`Flavour` (capability detection), so no other module asks "which TensorRT?".

``TRT_HARNESS_TENSORRT`` picks a module when several are installed (``tensorrt``,
``tensorrt_rtx`` or ``tensorrt_rtx_bindings``); by default full TensorRT wins.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from harness.errors import BackendUnavailable

# Full TensorRT first; then TensorRT-RTX under the metapackage's name and the bindings wheel's.
MODULES = ("tensorrt", "tensorrt_rtx", "tensorrt_rtx_bindings")
MISSING = ("TensorRT is not installed: install trt-harness[tensorrt] (TensorRT 10/11; its "
           "libraries come from NVIDIA's index or the TensorRT container) or "
           "trt-harness[tensorrt-rtx] (TensorRT-RTX from PyPI; builds engines without a GPU)")


@dataclass(frozen=True)
class Flavour:
    """What the installed TensorRT can do, decided once from its module name and version."""

    name: str              # "tensorrt" | "tensorrt-rtx"
    version: str
    module: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def is_rtx(self) -> bool:
        return self.name == "tensorrt-rtx"

    @property
    def weakly_typed(self) -> bool:
        """Precision by builder flags (FP16/BF16/INT8 + calibrator): TensorRT 10 only."""
        return not self.is_rtx and self.major == 10

    @property
    def builds_for_target(self) -> bool:
        """Can build for a named compute capability without that GPU (TensorRT-RTX)."""
        return self.is_rtx

    @property
    def real_timing_cache(self) -> bool:
        """TensorRT-RTX keeps the timing-cache API as a deprecated no-op."""
        return not self.is_rtx

    def label(self) -> str:
        return f"{self.name} {self.version}"


def flavour_of(trt: Any) -> Flavour:
    module = getattr(trt, "__name__", "tensorrt")
    name = "tensorrt-rtx" if "rtx" in module else "tensorrt"
    return Flavour(name, str(trt.__version__), module)


@cache
def load() -> ModuleType:
    """The TensorRT module, or :class:`BackendUnavailable` with how to install one."""
    wanted = os.environ.get("TRT_HARNESS_TENSORRT")
    candidates = (wanted,) if wanted else MODULES
    errors = []
    for name in candidates:
        try:
            return importlib.import_module(name)
        except ImportError as exc:      # also a wheel present without its libraries
            errors.append(f"{name}: {exc}")
    detail = "; ".join(e for e in errors if "No module named" not in e)
    raise BackendUnavailable(MISSING + (f" (import failed: {detail})" if detail else ""))


def reason_unavailable() -> str | None:
    try:
        load()
    except BackendUnavailable as exc:
        return str(exc)
    return None
