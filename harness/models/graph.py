"""A tiny ONNX graph builder for the zoo: seeded weights, named nodes, nothing clever."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class GraphBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def _name(self, kind: str) -> str:
        self._n += 1
        return f"{kind}_{self._n}"

    def const(self, array: np.ndarray, kind: str = "w") -> str:
        name = self._name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: object) -> str:
        name = self._name(op_type.lower())
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs  # type: ignore[return-value]

    def conv(self, x: str, c_in: int, c_out: int, k: int = 3, stride: int = 1,
             relu: bool = True) -> str:
        fan_in = c_in * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (c_out, c_in, k, k)).astype(np.float32)
        b = self.rng.normal(0, 0.01, (c_out,)).astype(np.float32)
        y = self.op("Conv", [x, self.const(w), self.const(b, "b")], kernel_shape=[k, k],
                    strides=[stride, stride], pads=[k // 2] * 4)
        return self.op("Relu", [y]) if relu else y

    def linear(self, x: str, d_in: int, d_out: int) -> str:
        w = self.rng.normal(0, np.sqrt(1.0 / d_in), (d_in, d_out)).astype(np.float32)
        b = self.rng.normal(0, 0.01, (d_out,)).astype(np.float32)
        return self.op("Add", [self.op("MatMul", [x, self.const(w)]), self.const(b, "b")])

    def shape_const(self, values: list[int]) -> str:
        return self.const(np.asarray(values, dtype=np.int64), "shape")

    def model(self, name: str, inputs: list[onnx.ValueInfoProto],
              outputs: list[onnx.ValueInfoProto], metadata: dict[str, str]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="trt-harness-zoo")
        model.ir_version = 8   # readable by older runtimes (ORT >= 1.14, TensorRT 8.6+)
        for k, v in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.checker.check_model(model, full_check=True)
        return model


def tensor(name: str, dtype: int, shape: list[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
