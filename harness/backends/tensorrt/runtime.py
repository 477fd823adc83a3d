"""The TensorRT run path (TensorRT 10, 11 and TensorRT-RTX alike): deserialise, IO tensors
from the engine, cuda-python buffers, ``set_input_shape`` + ``set_tensor_address``,
``execute_async_v3`` on the harness's stream, H2D/D2H as their own stages, optional CUDA-graph
capture, device memory of engine and context, an IProfiler pass, inspector JSON and the
shape-switch cost.

Not run on hardware in this project (no GPU here runs TensorRT engines): it is written against
TensorRT's documented Python API, and its call order, shapes and addresses are checked by
tests against a test double (tests/trt_double.py).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from harness.backends.base import Engine, TensorSpec
from harness.backends.tensorrt.build import dtype_name
from harness.backends.tensorrt.errors import BuildError
from harness.backends.tensorrt.introspect import engine_information, fingerprint, profiler_class
from harness.errors import ConfigError
from harness.layout import Layout
from harness.scenario.shapes import Shape


class ShapeOutsideProfile(ConfigError):
    """An input shape is outside the optimisation profile the engine was built with."""


class TrtEngine(Engine):
    is_async = True
    supports_cuda_graph = True     # execute_async_v3 is capturable after one warm enqueue
    enqueues_copies = True

    def __init__(self, trt: Any, cuda: Any, plan: bytes, logger: Any, profile_index: int = 0,
                 options: Any = None, profile: Any = None) -> None:
        super().__init__()
        self.trt, self.cuda, self.plan, self.logger = trt, cuda, plan, logger
        self.profile_index = profile_index
        self.options, self.profile = options, profile    # for introspect()
        self.engine: Any = None
        self.context: Any = None
        self._inputs: list[TensorSpec] = []
        self._outputs: list[TensorSpec] = []
        self._device: dict[str, int] = {}
        self._host: dict[str, np.ndarray] = {}
        self._shapes: dict[str, Shape] = {}
        self._graph: Any = None
        self.layout: Layout | None = None   # set by the backend before activation
        self._pads: list[int] = []          # the layout's pads (device pointers), held

    # -- lifecycle ------------------------------------------------------------------
    def activate_impl(self) -> None:
        trt = self.trt
        runtime = trt.Runtime(self.logger)
        # The layout (harness.layout): pads held before the weights (placed as the engine
        # deserialises) and before the context's activation memory and the I/O bindings, so
        # each preparation starts its allocations at another offset.
        self._hold_pads("weights")
        t0 = time.perf_counter()
        engine = runtime.deserialize_cuda_engine(self.plan)
        if engine is None:
            raise BuildError(f"TensorRT could not deserialise the engine: "
                             f"{self.logger.take_errors()}")
        self.build.load_time_s = time.perf_counter() - t0
        self.runtime, self.engine = runtime, engine
        if self.stream is None:
            self.stream = self.cuda.new_stream()
        self._hold_pads("buffers")
        context = engine.create_execution_context()
        if context is None:
            raise BuildError(f"TensorRT could not create an execution context: "
                             f"{self.logger.take_errors()}")
        if self.profile_index:
            context.set_optimization_profile_async(self.profile_index,
                                                   self.cuda.handle(self.stream))
        self.context = context
        self._inputs, self._outputs = [], []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            spec = TensorSpec(name, dtype_name(engine.get_tensor_dtype(name)),
                              tuple(d if d >= 0 else None for d in engine.get_tensor_shape(name)))
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self._inputs if is_input else self._outputs).append(spec)

    def _hold_pads(self, stage: str) -> None:
        if self.layout is None:
            return
        for nbytes in self.layout.pads(stage):
            if nbytes:
                self._pads.append(self.cuda.alloc(nbytes))

    def deactivate_impl(self) -> None:
        # the context (its activation memory) and the engine go before the pads under them
        self.context = self.engine = None
        for ptr in [*self._device.values(), *self._pads]:
            self.cuda.free(ptr)
        self._device, self._host, self._graph, self._pads = {}, {}, None, []
        self.cuda.release_pinned()

    # -- binding --------------------------------------------------------------------
    def profile_shapes(self, name: str) -> tuple[Shape, Shape, Shape]:
        lo, opt, hi = self.engine.get_tensor_profile_shape(name, self.profile_index)
        return tuple(lo), tuple(opt), tuple(hi)

    def _check_in_profile(self, shapes: dict[str, Shape]) -> None:
        for name, shape in shapes.items():
            lo, _, hi = self.profile_shapes(name)
            if len(shape) != len(lo) or any(not (a <= s <= b)
                                            for a, s, b in zip(lo, shape, hi, strict=True)):
                raise ShapeOutsideProfile(f"input {name!r} shape {shape} is outside the "
                                          f"engine's profile {self.profile_index}: min {lo}, "
                                          f"max {hi}")

    def _set_shapes(self, shapes: dict[str, Shape]) -> None:
        for name, shape in shapes.items():
            if not self.context.set_input_shape(name, shape):
                raise ShapeOutsideProfile(f"TensorRT refused shape {shape} for input {name!r}: "
                                          f"{self.logger.take_errors()}")

    def bind_impl(self, feed: dict[str, np.ndarray]) -> None:
        context, cuda = self.context, self.cuda
        shapes = {k: tuple(int(d) for d in v.shape) for k, v in feed.items()}
        self._check_in_profile(shapes)
        # Buffers sized for the profile's largest shapes, so switching shapes within the
        # profile (the shape-switch measurement) never needs new addresses.
        largest = {name: self.profile_shapes(name)[2] for name in shapes}
        self._set_shapes(largest)
        sizes = {s.name: _nbytes(largest[s.name], s.dtype) for s in self._inputs}
        for spec in self._outputs:
            sizes[spec.name] = _nbytes(tuple(context.get_tensor_shape(spec.name)), spec.dtype)
        self._set_shapes(shapes)
        self._shapes = shapes
        for name, nbytes in sizes.items():
            if name not in self._device:
                self._device[name] = cuda.alloc(nbytes)
            context.set_tensor_address(name, self._device[name])
        for spec in self._inputs:
            host = cuda.pinned(shapes[spec.name], np.dtype(spec.dtype))
            host[...] = feed[spec.name]
            self._host[spec.name] = host
        for spec in self._outputs:
            shape = tuple(context.get_tensor_shape(spec.name))
            self._host[spec.name] = cuda.pinned(shape, np.dtype(spec.dtype))
        self.enqueue_h2d()
        # One enqueue after the shapes change: TensorRT does deferred shape work in it, which
        # must happen neither in the timed loop nor during CUDA-graph capture.
        self._enqueue()
        cuda.sync(self.stream)
        self._graph = None

    def update_inputs_impl(self, feed: dict[str, np.ndarray]) -> None:
        for spec in self._inputs:          # into the pinned staging buffers only
            self._host[spec.name][...] = feed[spec.name]

    # -- hot path --------------------------------------------------------------------
    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.cuda.handle(self.stream)):
            raise RuntimeError(f"execute_async_v3 failed: {self.logger.take_errors()}")

    def run_impl(self) -> None:
        if self._graph is not None:
            self.cuda.launch(self._graph, self.stream)
        else:
            self._enqueue()

    def capture_cuda_graph(self) -> None:
        """From now on ``run`` replays one captured inference (after ``bind``)."""
        self._graph = self.cuda.capture(self.stream, self._enqueue)

    def enqueue_h2d(self) -> None:
        for spec in self._inputs:
            self.cuda.h2d(self._device[spec.name], self._host[spec.name], self.stream)

    def enqueue_d2h(self) -> None:
        for spec in self._outputs:
            self.cuda.d2h(self._host[spec.name], self._device[spec.name], self.stream)

    def fetch_outputs_impl(self) -> dict[str, np.ndarray]:
        self.enqueue_d2h()
        self.cuda.sync(self.stream)
        return {s.name: np.array(self._host[s.name]) for s in self._outputs}

    # -- figures ---------------------------------------------------------------------
    def memory(self) -> dict[str, int]:
        engine = self.engine
        return {"engine_bytes": len(self.plan),
                "device_bytes": int(engine.device_memory_size_v2),
                "context_bytes": int(engine.get_device_memory_size_for_profile_v2(
                    self.profile_index)),
                "io_bytes": sum(_nbytes(tuple(self.context.get_tensor_shape(s.name)), s.dtype)
                                for s in [*self._inputs, *self._outputs])}

    def introspect(self) -> dict[str, Any]:
        """After the timed run: inspector JSON, per-layer summaries with IProfiler times (a
        separate pass), the engine fingerprint and the shape-switch cost."""
        info, layers = engine_information(self.trt, self.engine, self.context)
        out: dict[str, Any] = {"build": {"inspector": info, "fingerprint": fingerprint(layers),
                                         "fingerprint_source": "inspector"},
                               "layers": layers}
        opts = self.options
        if opts is None or opts.profile_layers:
            times = self.profile_layers(opts.profile_iterations if opts else 10)
            for layer in layers:
                if layer["name"] in times:
                    layer["time_ms"] = times[layer["name"]]
        other = self._other_shapes()
        if other and (opts is None or opts.shape_switch):
            out["build"]["shape_switch"] = self.shape_switch(other)
        return out

    def _other_shapes(self) -> dict[str, Shape] | None:
        """Another shape of the same profile to switch to: its max, or its min at the max."""
        lo = {n: self.profile_shapes(n)[0] for n in self._shapes}
        hi = {n: self.profile_shapes(n)[2] for n in self._shapes}
        if lo == hi:
            return None
        return hi if self._shapes != hi else lo

    def profile_layers(self, iterations: int) -> dict[str, float]:
        """Median time per layer (ms) from an IProfiler, in a separate execution context so
        the timed run never carries the profiler's overhead."""
        context = self.engine.create_execution_context()
        if self.profile_index:
            context.set_optimization_profile_async(self.profile_index,
                                                   self.cuda.handle(self.stream))
        profiler = profiler_class(self.trt)()
        context.profiler = profiler
        for name, shape in self._shapes.items():
            context.set_input_shape(name, shape)
        for name, ptr in self._device.items():
            context.set_tensor_address(name, ptr)
        for _ in range(iterations):
            context.execute_async_v3(self.cuda.handle(self.stream))
            self.cuda.sync(self.stream)
        return {name: statistics.median(times) for name, times in profiler.times.items()}

    def shape_switch(self, other: dict[str, Shape], repeats: int = 10) -> dict[str, Any]:
        """Cost of switching to ``other`` shapes and back within the profile: the median time
        of an inference right after a switch minus that of one at an unchanged shape (host
        clock around enqueue + synchronise)."""
        self._check_in_profile(other)
        here = dict(self._shapes)

        def timed() -> float:
            t0 = time.perf_counter()
            self._enqueue()
            self.cuda.sync(self.stream)
            return time.perf_counter() - t0

        steady, switched = [], []
        for _ in range(repeats):
            steady.append(timed())
            self._set_shapes(other)
            switched.append(timed())
            self._set_shapes(here)
            switched.append(timed())
        self._graph = None        # a graph captured at the old shapes is stale
        s_ms, w_ms = statistics.median(steady) * 1e3, statistics.median(switched) * 1e3
        return {"from": _fmt(here), "to": _fmt(other), "steady_ms": s_ms, "switch_ms": w_ms,
                "cost_ms": w_ms - s_ms, "repeats": repeats}


def _fmt(shapes: dict[str, Shape]) -> str:
    return ",".join(f"{k}:{'x'.join(map(str, v))}" for k, v in shapes.items())


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    if any(d < 0 for d in shape):
        raise ConfigError(f"an output has a data-dependent shape {shape}: outputs whose size "
                          "depends on the data (e.g. ONNX NonMaxSuppression) are not supported "
                          "by the run path; use the EfficientNMS plugin (fixed-size outputs)")
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
