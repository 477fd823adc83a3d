"""The TensorRT backend, for TensorRT 10, TensorRT 11 and TensorRT-RTX (see shim.py for how
the three are told apart). Importing this package never imports TensorRT."""

from harness.backends.tensorrt.backend import BuildOnlyEngine, TensorRTBackend

__all__ = ["BuildOnlyEngine", "TensorRTBackend"]
