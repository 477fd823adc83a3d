"""Device and pinned host memory, copies and CUDA graphs through cuda-python's driver API
(``cuda.bindings``), imported lazily. Kept to the few calls the TensorRT engine needs, behind
one small object so the tests can put a test double in its place."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np


def _check(result: Any) -> Any:
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        from cuda.bindings import driver

        _, text = driver.cuGetErrorString(err)
        raise RuntimeError(f"CUDA error {int(err)}: {text.decode() if text else err}")
    return rest[0] if len(rest) == 1 else rest


class CudaOps:
    """The CUDA driver calls of the TensorRT run path (one device: the current one)."""

    def __init__(self) -> None:
        from cuda.core import Device

        self.device = Device()
        self.device.set_current()
        from cuda.bindings import driver

        self.driver = driver

    def new_stream(self) -> Any:
        return self.device.create_stream()

    @staticmethod
    def handle(stream: Any) -> int:
        return int(getattr(stream, "handle", stream))

    def alloc(self, nbytes: int) -> int:
        return int(_check(self.driver.cuMemAlloc(max(nbytes, 1))))

    def free(self, ptr: int) -> None:
        _check(self.driver.cuMemFree(ptr))

    def pinned(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A page-locked host array (async copies need pinned memory to overlap)."""
        nbytes = max(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, 1)
        ptr = int(_check(self.driver.cuMemHostAlloc(nbytes, 0)))
        raw = (ctypes.c_byte * nbytes).from_address(ptr)
        arr = np.frombuffer(raw, dtype=np.uint8, count=nbytes)[: nbytes - nbytes % dtype.itemsize]
        view = arr.view(dtype)[: int(np.prod(shape, dtype=np.int64))].reshape(shape)
        self._pinned = getattr(self, "_pinned", [])
        self._pinned.append(ptr)
        return view

    def release_pinned(self) -> None:
        for ptr in getattr(self, "_pinned", []):
            _check(self.driver.cuMemFreeHost(ptr))
        self._pinned = []

    def h2d(self, dst: int, src: np.ndarray, stream: Any) -> None:
        _check(self.driver.cuMemcpyHtoDAsync(dst, src.ctypes.data, src.nbytes, self.handle(stream)))

    def d2h(self, dst: np.ndarray, src: int, stream: Any) -> None:
        _check(self.driver.cuMemcpyDtoHAsync(dst.ctypes.data, src, dst.nbytes, self.handle(stream)))

    def sync(self, stream: Any) -> None:
        _check(self.driver.cuStreamSynchronize(self.handle(stream)))

    def capture(self, stream: Any, enqueue: Any) -> Any:
        """Capture what ``enqueue()`` puts on ``stream`` into an instantiated CUDA graph."""
        d = self.driver
        h = self.handle(stream)
        _check(d.cuStreamBeginCapture(h, d.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL))
        try:
            enqueue()
        finally:
            graph = _check(d.cuStreamEndCapture(h))
        return _check(d.cuGraphInstantiate(graph, 0))

    def launch(self, graph_exec: Any, stream: Any) -> None:
        _check(self.driver.cuGraphLaunch(graph_exec, self.handle(stream)))
