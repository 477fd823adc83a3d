"""trt-harness: profiling and performance-regression harness for TensorRT inference.

The CLI is a thin layer over this package: every command is a function here that a
notebook or a pytest test can call (see :mod:`harness.api`).
"""

__version__ = "0.1.0"
