"""A TEST DOUBLE of TensorRT's Python API (``FakeTensorRT``) and of the CUDA calls
(``FakeCuda``), for the run path that cannot run here (no GPU here runs a TensorRT engine).

It is not TensorRT: it checks that the harness calls the API in a valid order with valid
shapes and addresses, and raises on misuse:
- the network comes from the ONNX file; unknown ops give parser errors (node, op, code);
- ``build_serialized_network`` needs a profile covering every dynamic input, runs the INT8
  calibrator (TensorRT 10) and records flags; the "engine" is JSON;
- ``execute_async_v3`` needs every input shape set within the profile, every tensor address
  set to a live device allocation large enough for the current shape, and a stream made by
  ``FakeCuda`` (never the default stream); it then runs the ONNX model with ONNX Runtime on
  the bytes in the fake device memory, so outputs are real numbers that went through the
  harness's H2D and D2H copies.
Its public names are held to the inventory of TensorRT names (harness/backends/tensorrt/
names.py) by tests/test_trt_api_contract.py; version "11.x" lacks the TensorRT-10-only names.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx

UNSUPPORTED_OPS = {"NoSuchOp"}
# The double's own state, read by the tests (not TensorRT API; everything else it offers is
# held to the inventory of TensorRT names).
DOUBLE_STATE = frozenset({
    "cuda", "sessions", "loaded_libraries", "plugins_initialised", "flags", "profiles",
    "pools", "shapes", "addresses", "profile_index", "enqueues", "io", "plan", "entries",
    "onnx", "inputs", "outputs", "layers", "errors", "logger", "value", "engine",
})


class _Enum:
    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return self.name


def _enum(*members: str) -> SimpleNamespace:
    return SimpleNamespace(**{m: _Enum(m, i) for i, m in enumerate(members)})


_DT = {1: "FLOAT", 10: "HALF", 16: "BF16", 3: "INT8", 6: "INT32", 7: "INT64", 9: "BOOL",
       2: "UINT8"}
_NP = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
       "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8}


# ---------------------------------------------------------------------------- CUDA
class FakeCuda:
    """Device memory as host bytearrays at fake addresses; streams; CUDA-graph capture."""

    def __init__(self) -> None:
        self.memory: dict[int, bytearray] = {}
        self.streams: set[int] = set()
        self.next_ptr = 0x7F0000000000
        self.calls: list[str] = []
        self.capturing: list[Any] | None = None

    def new_stream(self) -> SimpleNamespace:
        handle = 0x5000 + len(self.streams) + 1
        self.streams.add(handle)
        return SimpleNamespace(handle=handle)

    @staticmethod
    def handle(stream: Any) -> int:
        return int(getattr(stream, "handle", stream))

    def alloc(self, nbytes: int) -> int:
        ptr = self.next_ptr
        self.next_ptr += (max(nbytes, 1) + 255) // 256 * 256 + 256
        self.memory[ptr] = bytearray(max(nbytes, 1))
        return ptr

    def free(self, ptr: int) -> None:
        assert ptr in self.memory, f"free of unknown or already freed address {ptr:#x}"
        del self.memory[ptr]

    def pinned(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.zeros(shape, dtype)

    def release_pinned(self) -> None:
        pass

    def _check_stream(self, stream: Any) -> None:
        assert self.handle(stream) in self.streams, "work enqueued on a stream FakeCuda did " \
                                                    "not create (the default stream?)"

    def h2d(self, dst: int, src: np.ndarray, stream: Any) -> None:
        self._check_stream(stream)
        buf = self.memory[dst]
        assert src.nbytes <= len(buf), f"H2D of {src.nbytes} B into a {len(buf)} B buffer"
        buf[: src.nbytes] = np.ascontiguousarray(src).tobytes()
        self.calls.append("h2d")

    def d2h(self, dst: np.ndarray, src: int, stream: Any) -> None:
        self._check_stream(stream)
        buf = self.memory[src]
        assert dst.nbytes <= len(buf), f"D2H of {dst.nbytes} B from a {len(buf)} B buffer"
        dst.reshape(-1).view(np.uint8)[:] = np.frombuffer(bytes(buf[: dst.nbytes]), np.uint8)
        self.calls.append("d2h")

    def sync(self, stream: Any) -> None:
        self._check_stream(stream)
        self.calls.append("sync")

    def capture(self, stream: Any, enqueue: Any) -> list[Any]:
        self._check_stream(stream)
        self.capturing = []
        try:
            enqueue()
        finally:
            graph, self.capturing = self.capturing, None
        assert graph, "nothing was captured"
        self.calls.append("capture")
        return graph

    def launch(self, graph: list[Any], stream: Any) -> None:
        self._check_stream(stream)
        for work in graph:
            work()
        self.calls.append("graph-launch")

    def read(self, ptr: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        assert n <= len(self.memory[ptr]), f"{n} B read from a {len(self.memory[ptr])} B buffer"
        return np.frombuffer(bytes(self.memory[ptr][:n]), dtype).reshape(shape)

    def write(self, ptr: int, arr: np.ndarray) -> None:
        assert arr.nbytes <= len(self.memory[ptr]), "output larger than its buffer"
        self.memory[ptr][: arr.nbytes] = np.ascontiguousarray(arr).tobytes()


# ------------------------------------------------------------------------ builder side
class _Tensor:
    def __init__(self, name: str, dtype: str, shape: tuple[int, ...]) -> None:
        self.name, self.dtype, self.shape = name, _Enum(dtype, 0), shape


class _Layer:
    def __init__(self, name: str, op: str, dtype: str) -> None:
        self.name, self.type = name, _Enum(op.upper(), 0)
        self.num_outputs = 1
        self._out = _Tensor(name + "_out", dtype, ())

    def get_output(self, index: int) -> _Tensor:
        return self._out


class _Network:
    def __init__(self, flags: int) -> None:
        self.flags = flags
        self.inputs: list[_Tensor] = []
        self.outputs: list[_Tensor] = []
        self.layers: list[_Layer] = []
        self.onnx: bytes = b""

    num_inputs = property(lambda self: len(self.inputs))
    num_outputs = property(lambda self: len(self.outputs))
    num_layers = property(lambda self: len(self.layers))

    def get_input(self, i: int) -> _Tensor:
        return self.inputs[i]

    def get_output(self, i: int) -> _Tensor:
        return self.outputs[i]

    def get_layer(self, i: int) -> _Layer:
        return self.layers[i]


def _value_info(vi: Any) -> tuple[str, tuple[int, ...], tuple[Any, ...]]:
    t = vi.type.tensor_type
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
    names = tuple(d.dim_param if d.HasField("dim_param") else None for d in t.shape.dim)
    return _DT.get(t.elem_type, "FLOAT"), dims, names


class _ParserError:
    def __init__(self, index: int, node: Any) -> None:
        self._i, self._node = index, node

    def node(self) -> int:
        return self._i

    def node_name(self) -> str:
        return self._node.name

    def node_operator(self) -> str:
        return self._node.op_type

    def code(self) -> _Enum:
        return _Enum("UNSUPPORTED_NODE", 8)

    def desc(self) -> str:
        return f"No importer registered for op: {self._node.op_type}"


class _OnnxParser:
    def __init__(self, network: _Network, logger: Any) -> None:
        self.network, self.errors = network, []

    def parse_from_file(self, path: str) -> bool:
        model = onnx.load(path)
        inits = {t.name for t in model.graph.initializer}
        self.errors = [_ParserError(i, n) for i, n in enumerate(model.graph.node)
                       if n.op_type in UNSUPPORTED_OPS]
        if self.errors:
            return False
        net = self.network
        for vi in model.graph.input:
            if vi.name not in inits:
                dtype, dims, _ = _value_info(vi)
                net.inputs.append(_Tensor(vi.name, dtype, dims))
        for vi in model.graph.output:
            dtype, dims, _ = _value_info(vi)
            net.outputs.append(_Tensor(vi.name, dtype, dims))
        net.layers = [_Layer(n.name or f"node{i}", n.op_type, "FLOAT")
                      for i, n in enumerate(model.graph.node)]
        net.onnx = model.SerializeToString()
        return True

    num_errors = property(lambda self: len(self.errors))

    def get_error(self, i: int) -> _ParserError:
        return self.errors[i]


class _Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple] = {}

    def set_shape(self, name: str, lo: Any, opt: Any, hi: Any) -> None:
        lo, opt, hi = tuple(lo), tuple(opt), tuple(hi)
        assert len(lo) == len(opt) == len(hi), "profile shapes differ in rank"
        assert all(a <= b <= c for a, b, c in zip(lo, opt, hi, strict=True)), "min<=opt<=max"
        self.shapes[name] = (lo, opt, hi)


class _TimingCache:
    def __init__(self, entries: set[str]) -> None:
        self.entries = set(entries)

    def combine(self, other: _TimingCache, ignore_mismatch: bool) -> bool:
        self.entries |= other.entries
        return True

    def serialize(self) -> bytes:
        return json.dumps(sorted(self.entries)).encode()


class _Config:
    def __init__(self, trt: FakeTensorRT) -> None:
        self._trt = trt
        self.flags: set[str] = set()
        self.profiles: list[_Profile] = []
        self.pools: dict[str, int] = {}
        self.builder_optimization_level = 3
        self.profiling_verbosity = None
        self._timing: _TimingCache | None = None
        self.int8_calibrator: Any = None

    def set_flag(self, flag: _Enum) -> None:
        self.flags.add(flag.name)

    def clear_flag(self, flag: _Enum) -> None:
        self.flags.discard(flag.name)

    def set_memory_pool_limit(self, pool: _Enum, size: int) -> None:
        assert size >= 0
        self.pools[pool.name] = size

    def add_optimization_profile(self, profile: _Profile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, data: bytes) -> _TimingCache | None:
        if not data:
            return _TimingCache(set())
        try:
            return _TimingCache(set(json.loads(data)))
        except ValueError:
            return None

    def set_timing_cache(self, cache: _TimingCache, ignore_mismatch: bool) -> bool:
        self._timing = cache
        return True

    def get_timing_cache(self) -> _TimingCache | None:
        return self._timing


class _Builder:
    def __init__(self, trt: FakeTensorRT, logger: Any) -> None:
        self._trt, self.logger = trt, logger

    def create_network(self, flags: int) -> _Network:
        return _Network(flags)

    def create_builder_config(self) -> _Config:
        return _Config(self._trt)

    def create_optimization_profile(self) -> _Profile:
        return _Profile()

    def build_serialized_network(self, network: _Network, config: _Config) -> bytes | None:
        dynamic = [t for t in network.inputs if any(d < 0 for d in t.shape)]
        for t in dynamic:
            if not config.profiles or any(t.name not in p.shapes for p in config.profiles):
                self.logger.log(self._trt.ILogger.ERROR, f"input {t.name} has no profile")
                return None
        calibrated = 0
        if "INT8" in config.flags and config.int8_calibrator is not None:
            calibrated = self._calibrate(network, config.int8_calibrator)
        if config._timing is not None:
            config._timing.entries.add(hashlib.sha256(network.onnx).hexdigest()[:12])
        plan = {"onnx": network.onnx.hex(), "flags": sorted(config.flags),
                "strongly_typed": bool(network.flags), "calibration_batches": calibrated,
                "profiles": [{k: [list(s) for s in v] for k, v in p.shapes.items()}
                             for p in config.profiles] or [{}],
                "inputs": [[t.name, t.dtype.name, list(t.shape)] for t in network.inputs],
                "outputs": [[t.name, t.dtype.name, list(t.shape)] for t in network.outputs],
                "layers": [[ly.name, ly.type.name] for ly in network.layers]}
        return json.dumps(plan).encode()

    def _calibrate(self, network: _Network, calibrator: Any) -> int:
        names = [t.name for t in network.inputs]
        assert calibrator.get_batch_size() >= 1
        count = 0
        while (ptrs := calibrator.get_batch(names)) is not None:
            assert len(ptrs) == len(names)
            for ptr in ptrs:
                assert ptr in self._trt.cuda.memory, f"calibrator gave an unknown address {ptr}"
            count += 1
        calibrator.write_calibration_cache(b"fake-calibration-table")
        return count


# ------------------------------------------------------------------------ runtime side
class _Engine:
    def __init__(self, trt: FakeTensorRT, plan: dict[str, Any]) -> None:
        self._trt, self.plan = trt, plan
        self.io = [(n, d, tuple(s), "INPUT") for n, d, s in plan["inputs"]] + \
                  [(n, d, tuple(s), "OUTPUT") for n, d, s in plan["outputs"]]
        self.device_memory_size_v2 = 1 << 20

    num_io_tensors = property(lambda self: len(self.io))

    def get_tensor_name(self, i: int) -> str:
        return self.io[i][0]

    def _io(self, name: str) -> tuple:
        return next(t for t in self.io if t[0] == name)

    def get_tensor_mode(self, name: str) -> _Enum:
        mode = self._io(name)[3]
        return self._trt.TensorIOMode.INPUT if mode == "INPUT" else _Enum("OUTPUT", 1)

    def get_tensor_dtype(self, name: str) -> _Enum:
        return _Enum(self._io(name)[1], 0)

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self._io(name)[2]

    def get_tensor_profile_shape(self, name: str, index: int) -> list[tuple[int, ...]]:
        profiles = self.plan["profiles"]
        assert 0 <= index < len(profiles), f"profile {index} does not exist"
        shape = self._io(name)[2]
        return [tuple(s) for s in profiles[index].get(name, [shape, shape, shape])]

    def get_device_memory_size_for_profile_v2(self, index: int) -> int:
        return (1 << 19) + index

    def create_execution_context(self) -> _Context:
        return _Context(self)

    def create_engine_inspector(self) -> _Inspector:
        return _Inspector(self)


class _Context:
    def __init__(self, engine: _Engine) -> None:
        self.engine, self._trt = engine, engine._trt
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self.profile_index = 0
        self.profiler: Any = None
        self.enqueues = 0

    def set_optimization_profile_async(self, index: int, stream: int) -> bool:
        assert index < len(self.engine.plan["profiles"])
        self.profile_index = index
        return True

    def set_input_shape(self, name: str, shape: Any) -> bool:
        shape = tuple(int(d) for d in shape)
        assert self.engine.get_tensor_mode(name).name == "INPUT", f"{name} is not an input"
        lo, _, hi = self.engine.get_tensor_profile_shape(name, self.profile_index)
        if len(shape) != len(lo) or any(not (a <= s <= b) for a, s, b in zip(lo, shape, hi,
                                                                               strict=True)):
            return False
        self.shapes[name] = shape
        return True

    def _input_values(self) -> dict[str, np.ndarray]:
        cuda = self._trt.cuda
        return {n: cuda.read(self.addresses[n], self.shapes[n], _NP[d])
                for n, d, _, mode in self.engine.io if mode == "INPUT"}

    def _run_model(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import onnxruntime as ort

        key = bytes.fromhex(self.engine.plan["onnx"])
        session = self._trt.sessions.get(key)
        if session is None:
            session = ort.InferenceSession(key, providers=["CPUExecutionProvider"])
            self._trt.sessions[key] = session
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feed), strict=True))

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        mode = self.engine.get_tensor_mode(name).name
        if mode == "INPUT":
            return self.shapes.get(name, self.engine.get_tensor_shape(name))
        missing = [n for n, _, _, m in self.engine.io if m == "INPUT" and n not in self.shapes]
        if missing:
            return self.engine.get_tensor_shape(name)     # -1 dims until inputs are known
        feed = {n: np.zeros(self.shapes[n], _NP[d]) for n, d, _, m in self.engine.io
                if m == "INPUT"}
        return tuple(self._run_model(feed)[name].shape)

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        assert ptr in self._trt.cuda.memory, f"address {ptr:#x} of {name} is not allocated"
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream: int) -> bool:
        cuda = self._trt.cuda
        assert stream in cuda.streams, "execute_async_v3 on a stream FakeCuda did not create"
        for name, _dtype, _, mode in self.engine.io:
            assert name in self.addresses, f"no address set for {name}"
            if mode == "INPUT":
                assert name in self.shapes, f"no shape set for input {name}"

        def work() -> None:
            outputs = self._run_model(self._input_values())
            for name, value in outputs.items():
                cuda.write(self.addresses[name], value)
            if self.profiler is not None:
                for layer, _ in self.engine.plan["layers"]:
                    self.profiler.report_layer_time(layer, 0.01)

        if cuda.capturing is not None:
            cuda.capturing.append(work)
        else:
            work()
        self.enqueues += 1
        return True


class _Inspector:
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.execution_context: Any = None

    def get_engine_information(self, fmt: _Enum) -> str:
        assert fmt.name == "JSON"
        precision = "Half" if "FP16" in self.engine.plan["flags"] else "Float"
        return json.dumps({"Layers": [
            {"Name": n, "LayerType": t, "TacticName": f"fake_tactic_{i % 3}",
             "Outputs": [{"Format/Datatype": f"Row major linear {precision}"}]}
            for i, (n, t) in enumerate(self.engine.plan["layers"])]})


class _Runtime:
    def __init__(self, trt: FakeTensorRT, logger: Any) -> None:
        self._trt = trt

    def deserialize_cuda_engine(self, data: bytes) -> _Engine | None:
        try:
            return _Engine(self._trt, json.loads(data))
        except ValueError:
            return None


class _Registry:
    def __init__(self, trt: FakeTensorRT) -> None:
        self._trt = trt
        self.all_creators = [SimpleNamespace(name="EfficientNMS_TRT")]

    def load_library(self, path: str) -> object:
        self._trt.loaded_libraries.append(path)
        return object()


# ----------------------------------------------------------------------- the module
class FakeTensorRT:
    """Stands in for the ``tensorrt`` module of TensorRT ``version`` (10.x or 11.x)."""

    def __init__(self, version: str = "10.16.1.11", cuda: FakeCuda | None = None) -> None:
        self.__name__ = "tensorrt"
        self.__version__ = version
        self.cuda = cuda or FakeCuda()
        self.sessions: dict[bytes, Any] = {}
        self.loaded_libraries: list[str] = []
        self.plugins_initialised = False
        weak = version.startswith("10.")
        flags = ["TF32"] + (["FP16", "BF16", "INT8"] if weak else [])
        self.BuilderFlag = _enum(*flags)
        self.MemoryPoolType = _enum("WORKSPACE", "TACTIC_SHARED_MEMORY", "TACTIC_DRAM")
        self.ProfilingVerbosity = _enum("DETAILED")
        self.TensorIOMode = _enum("INPUT")
        self.LayerInformationFormat = _enum("JSON")
        self.NetworkDefinitionCreationFlag = _enum("STRONGLY_TYPED")
        trt = self

        class ILogger:
            ERROR, INTERNAL_ERROR, WARNING = "E", "F", "W"

            def __init__(self) -> None:
                pass

            def log(self, severity: Any, msg: str) -> None:
                pass

        class IProfiler:
            def __init__(self) -> None:
                pass

            def report_layer_time(self, layer_name: str, ms: float) -> None:
                pass

        self.ILogger, self.IProfiler = ILogger, IProfiler
        if weak:
            class IInt8EntropyCalibrator2:
                def __init__(self) -> None:
                    pass

            self.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2
        self.Builder = lambda logger: _Builder(trt, logger)
        self.OnnxParser = _OnnxParser
        self.Runtime = lambda logger: _Runtime(trt, logger)
        self._registry = _Registry(self)

    def init_libnvinfer_plugins(self, logger: Any, namespace: str) -> bool:
        self.plugins_initialised = True
        return True

    def get_plugin_registry(self) -> _Registry:
        assert self.plugins_initialised, "plugin registry used before init_libnvinfer_plugins"
        return self._registry
