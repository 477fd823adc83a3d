"""ONNX Runtime on the CPU: the embedded default that runs anywhere (timed with the host clock).

Also the accuracy reference (FP32 on the same inputs) for the other backends.
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal

import numpy as np
from pydantic import Field

from harness.backends.base import Backend, BackendOptions, Engine, TensorSpec
from harness.errors import CaseSkipped

_ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(bfloat16)": "bfloat16", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
    "tensor(int16)": "int16", "tensor(uint16)": "uint16", "tensor(int32)": "int32",
    "tensor(uint32)": "uint32", "tensor(int64)": "int64", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool", "tensor(string)": "str",
}


class OnnxRuntimeOptions(BackendOptions):
    """``options.onnxruntime``. A fixed thread count by default: ORT's default (all cores)
    makes figures depend on whatever else the machine is doing."""

    threads: int = Field(default=1, ge=1, le=1024)
    inter_op_threads: int = Field(default=1, ge=1, le=1024)
    opt_level: Literal["disable", "basic", "extended", "all"] = "all"
    execution_mode: Literal["sequential", "parallel"] = "sequential"
    providers: list[str] = Field(default=["CPUExecutionProvider"], min_length=1)


def _specs(nodes: list[Any]) -> list[TensorSpec]:
    return [TensorSpec(n.name, _ORT_DTYPES.get(n.type, n.type), tuple(n.shape)) for n in nodes]


class OrtEngine(Engine):
    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self._inputs = _specs(session.get_inputs())
        self._outputs = _specs(session.get_outputs())
        self._binding: Any = None

    def bind_impl(self, feed: dict[str, np.ndarray]) -> None:
        # IO binding keeps the inputs bound between runs, so the timed call is the inference
        # and not the re-validation of a feed dict.
        binding = self.session.io_binding()
        for name, arr in feed.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(arr))
        for spec in self._outputs:
            binding.bind_output(spec.name)
        self._binding = binding

    def run_impl(self) -> None:
        self.session.run_with_iobinding(self._binding)

    def fetch_outputs_impl(self) -> dict[str, np.ndarray]:
        values = self._binding.copy_outputs_to_cpu()
        return {s.name: v for s, v in zip(self._outputs, values, strict=True)}


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    options_model = OnnxRuntimeOptions

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (pip install onnxruntime)"
        return None

    @classmethod
    def version(cls) -> str:
        import onnxruntime

        return onnxruntime.__version__

    def prepare(self, case: Any, model_path: str | None) -> OrtEngine:
        import onnxruntime as ort

        if model_path is None:
            raise CaseSkipped(f"onnxruntime needs an ONNX model; {case.source!r} is not one")
        opts = self.parse_options(case.options, case.id)
        so = ort.SessionOptions()
        so.intra_op_num_threads = opts.threads
        so.inter_op_num_threads = opts.inter_op_threads
        level = opts.opt_level
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[level]
        if opts.execution_mode == "parallel":
            so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        so.log_severity_level = 3
        providers = opts.providers
        t0 = time.perf_counter()
        session = ort.InferenceSession(model_path, sess_options=so, providers=providers)
        engine = OrtEngine(session)
        engine.build.load_time_s = time.perf_counter() - t0
        engine.build.engine_bytes = os.path.getsize(model_path)
        engine.build.notes.append(f"threads={so.intra_op_num_threads} opt_level={level}")
        return engine
