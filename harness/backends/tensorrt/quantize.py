"""INT8 and FP8 as explicit Quantize/DequantizeLinear pairs, placed from calibration data: the
strongly typed way to low precision (TensorRT 11, TensorRT-RTX; TensorRT 10 strongly typed),
done by the harness before parsing, as NVIDIA's ModelOpt does.

Placement follows ModelOpt's default: the inputs of Conv, ConvTranspose, Gemm and MatMul get a
Q/DQ pair (activations per tensor; constant weights per output channel for INT8, per tensor
for FP8), so TensorRT fuses each pair into a quantised kernel and keeps the rest in float.
Activation scales come from the largest magnitude seen on the calibration data ("max"
calibration) with ONNX Runtime on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUANTISED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
# Largest representable magnitude: symmetric INT8 and FP8 E4M3.
RANGE = {"int8": 127.0, "fp8": 448.0}
OPSET = {"int8": 13, "fp8": 19}     # per-channel axis needs 13; FP8 zero points need 19


def targets(model: onnx.ModelProto) -> list[tuple[onnx.NodeProto, int]]:
    """(node, input index) pairs that get a Q/DQ pair."""
    out = []
    for node in model.graph.node:
        if node.op_type in QUANTISED_OPS:
            out.extend((node, i) for i in range(min(2, len(node.input))))
    return out


def activation_amax(model: onnx.ModelProto, feeds: list[dict[str, np.ndarray]],
                    names: list[str]) -> dict[str, float]:
    """Largest |value| of each named tensor over the calibration feeds (ONNX Runtime, CPU)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    graph_outputs = {o.name for o in probe.graph.output}
    for name in names:
        if name not in graph_outputs:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    amax = dict.fromkeys(names, 0.0)
    for feed in feeds:
        values = session.run(names, feed)
        for name, value in zip(names, values, strict=True):
            if value.size:
                amax[name] = max(amax[name], float(np.max(np.abs(value))))
    return amax


def quantize(model: onnx.ModelProto, precision: str,
             feeds: list[dict[str, np.ndarray]]) -> onnx.ModelProto:
    """A copy of ``model`` with Q/DQ pairs for ``precision`` ("int8" or "fp8")."""
    model = _at_least_opset(model, OPSET[precision])
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    places = targets(model)
    activations = sorted({node.input[i] for node, i in places if node.input[i] not in inits})
    amax = activation_amax(model, feeds, activations)
    made: dict[str, str] = {}
    new_nodes: list[onnx.NodeProto] = []
    for node, i in places:
        name = node.input[i]
        if name in made:
            node.input[i] = made[name]
            continue
        if name in inits:
            arr = numpy_helper.to_array(inits[name]).astype(np.float32)
            axis = _channel_axis(node, i, arr) if precision == "int8" else None
            scale = _weight_scale(arr, axis, precision)
        else:
            axis, scale = None, np.float32(max(amax[name], 1e-8) / RANGE[precision])
        made[name] = _qdq(graph, new_nodes, name, np.asarray(scale, np.float32), axis, precision)
        node.input[i] = made[name]
    _insert_before_consumers(graph, new_nodes)
    return model


def _weight_scale(arr: np.ndarray, axis: int | None, precision: str) -> np.ndarray:
    if axis is None:
        return np.float32(max(float(np.abs(arr).max(initial=0.0)), 1e-8) / RANGE[precision])
    other = tuple(a for a in range(arr.ndim) if a != axis)
    return np.maximum(np.abs(arr).max(axis=other), 1e-8).astype(np.float32) / RANGE[precision]


def _channel_axis(node: onnx.NodeProto, index: int, arr: np.ndarray) -> int | None:
    # The output-channel axis of a constant weight: Conv's K (0), ConvTranspose's (1), the
    # column of MatMul's B, and Gemm's N (depending on transB). Activations: per tensor.
    if index != 1 or arr.ndim < 2:
        return None
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return arr.ndim - 1 if arr.ndim == 2 else None


def _qdq(graph: onnx.GraphProto, nodes: list[onnx.NodeProto], name: str, scale: np.ndarray,
         axis: int | None, precision: str) -> str:
    base = name.replace("/", "_")
    scale_name, zp_name = f"{base}/qdq_scale", f"{base}/qdq_zero_point"
    graph.initializer.append(numpy_helper.from_array(scale, scale_name))
    shape = list(scale.shape)
    if precision == "int8":
        zp = numpy_helper.from_array(np.zeros(shape, np.int8), zp_name)
    else:
        zp = helper.make_tensor(zp_name, TensorProto.FLOAT8E4M3FN, shape,
                                [0] * int(np.prod(shape or [1])))
    graph.initializer.append(zp)
    attrs: dict[str, Any] = {"axis": axis} if axis is not None else {}
    q, dq = f"{base}/quantized", f"{base}/dequantized"
    nodes.append(helper.make_node("QuantizeLinear", [name, scale_name, zp_name], [q],
                                  name=f"{base}/QuantizeLinear", **attrs))
    nodes.append(helper.make_node("DequantizeLinear", [q, scale_name, zp_name], [dq],
                                  name=f"{base}/DequantizeLinear", **attrs))
    return dq


def _insert_before_consumers(graph: onnx.GraphProto, new_nodes: list[onnx.NodeProto]) -> None:
    # Keep the graph topologically sorted: each Q/DQ pair goes right before its first reader.
    by_output = {n.output[0]: n for n in new_nodes}
    ordered: list[onnx.NodeProto] = []
    placed: set[str] = set()
    for node in graph.node:
        for name in node.input:
            dq = by_output.get(name)
            if dq is not None and name not in placed:
                q = by_output[dq.input[0]]
                ordered.extend([q, dq])
                placed.update({q.output[0], name})
        ordered.append(node)
    del graph.node[:]
    graph.node.extend(ordered)


def _at_least_opset(model: onnx.ModelProto, version: int) -> onnx.ModelProto:
    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    if current >= version:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy
    from onnx import version_converter

    return version_converter.convert_version(model, version)
