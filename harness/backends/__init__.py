"""Backends, one module per runtime, behind :class:`~harness.backends.base.Backend`.

Heavy runtimes (tensorrt, torch, cuda) are imported lazily, so importing the harness never
fails because one is missing; the case that needs it is skipped with the reason.
"""

from __future__ import annotations

import importlib

from pydantic import ConfigDict

from harness.backends.base import Backend, BackendOptions, Engine, TensorSpec
from harness.errors import ConfigError

# name -> "module:class"; imported on first use.
REGISTRY = {
    "onnxruntime": "harness.backends.onnxruntime:OnnxRuntimeBackend",
    "tensorrt": "harness.backends.tensorrt:TensorRTBackend",
    "torch": "harness.backends.torch:TorchBackend",
    "calibration": "harness.backends.calibration:CalibrationBackend",
}

# Preference order for one-shot `bench` without --backend: the product's namesake first.
PREFERENCE = ("tensorrt", "onnxruntime")


def backend_class(name: str) -> type[Backend]:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}", expected=", ".join(REGISTRY)) from None
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("harness."):
            return _missing(name, f"the {name} backend is not part of this build of trt-harness")
        raise


class _UncheckedOptions(BackendOptions):
    # A backend left out of this build cannot say what its options are: they pass unchecked.
    model_config = ConfigDict(extra="allow")


def _missing(name: str, reason: str) -> type[Backend]:
    class Missing(Backend):
        options_model = _UncheckedOptions

        @classmethod
        def unavailable_reason(cls) -> str | None:
            return reason

        def prepare(self, case, model_path):  # pragma: no cover - never called
            raise NotImplementedError

    Missing.name = name
    return Missing


def best_installed() -> str:
    """The best backend that can run here (TensorRT where present, else ONNX Runtime)."""
    for name in PREFERENCE:
        cls = backend_class(name)
        # A backend may be usable only for build-only cases here (TensorRT-RTX without a GPU).
        if cls.unavailable_reason() is None and cls.runs_here():
            return name
    return "onnxruntime"


__all__ = ["REGISTRY", "Backend", "Engine", "TensorSpec", "backend_class", "best_installed"]
