"""Reduced precision as an ONNX transform, for strongly typed networks (TensorRT 11,
TensorRT-RTX, and TensorRT 10 when asked): the network's types *are* the precision, so the
harness writes them into the model before parsing, as NVIDIA's ModelOpt does.

FP16/BF16: float weights become half, nodes whose ONNX schema accepts half run in half, and
Casts are placed where a node must stay in float32 (fixed ``tensor(float)`` parameters such
as Resize's scales, ops without a half kernel, custom-domain ops, subgraph ops). Graph inputs
and outputs stay float32, so the same inputs feed every precision and accuracy compares 1:1.
BF16 follows the FP16 placement: TensorRT runs BF16 wherever it runs FP16, while the ONNX
schemas of many ops (Conv among them) have not caught up with BF16.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HALF_TYPES = {"fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}
FLOAT = TensorProto.FLOAT
_SUBGRAPH_ATTRS = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def to_half(model: onnx.ModelProto, precision: str,
            keep_fp32_ops: tuple[str, ...] = ()) -> onnx.ModelProto:
    """A copy of ``model`` with float compute in ``precision`` ("fp16" or "bf16")."""
    half = HALF_TYPES[precision]
    model = onnx.shape_inference.infer_shapes(model)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    types = _tensor_types(graph)
    _detach_outputs(graph, types)
    plan = _Placement(graph, types, opset, set(keep_fp32_ops))
    half_tensors: set[str] = set()
    for node in graph.node:
        if plan.runs_half(node):
            half_tensors.update(plan.half_outputs(node))
    # Initializers are stored in half when any consumer computes in half (the point: the
    # engine's weights halve); fp32 consumers of them read through a Cast TensorRT folds.
    for init in graph.initializer:
        if init.data_type == FLOAT and any(plan.wants_half(n, i) for n, i in plan.uses[init.name]):
            init.CopyFrom(numpy_helper.from_array(_cast(numpy_helper.to_array(init), half),
                                                  init.name))
            half_tensors.add(init.name)
    casts = _Casts(graph, half)
    for node in list(graph.node):
        half_node = plan.runs_half(node)
        if half_node and node.op_type == "Cast" and _attr(node, "to") == FLOAT:
            node.attribute[0].CopyFrom(helper.make_attribute("to", half))
        if half_node and node.op_type == "Constant":
            _constant_to_half(node, half)
        for i, name in enumerate(node.input):
            if not name or types.get(name) != FLOAT:
                continue
            want_half = half_node and plan.wants_half(node, i)
            if want_half != (name in half_tensors):
                node.input[i] = casts.get(name, half if want_half else FLOAT)
        _rewire_subgraphs(node, half_tensors, casts)
    for out in graph.output:
        src = out.name + _PRE
        if types.get(out.name) == FLOAT and src in half_tensors:
            graph.node.append(helper.make_node("Cast", [src], [out.name], to=FLOAT,
                                               name=out.name + "/to_fp32"))
        elif any(src == o for n in graph.node for o in n.output):
            graph.node.append(helper.make_node("Identity", [src], [out.name],
                                               name=out.name + "/identity"))
    graph.node.extend(casts.pending)
    _sort_topologically(graph)
    del graph.value_info[:]       # stale after retyping; TensorRT infers its own
    return model


_PRE = "__pre_output"


def _detach_outputs(graph: onnx.GraphProto, types: dict[str, int]) -> None:
    # Graph outputs must stay float32: route each through a final Cast/Identity by renaming
    # the producer's tensor (and its other readers) first.
    produced = {o for n in graph.node for o in n.output}
    for out in graph.output:
        if out.name not in produced:
            continue
        new = out.name + _PRE
        for node in graph.node:
            node.output[:] = [new if o == out.name else o for o in node.output]
            node.input[:] = [new if i == out.name else i for i in node.input]
        types[new] = types.get(out.name, 0)


class _Placement:
    """Which nodes compute in half, and which of their inputs may be half."""

    def __init__(self, graph: onnx.GraphProto, types: dict[str, int], opset: int,
                 keep: set[str]) -> None:
        self.types, self.opset, self.keep = types, opset, keep
        self.uses: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
        for node in graph.node:
            for i, name in enumerate(node.input):
                self.uses[name].append((node, i))
        self._cache: dict[int, tuple[bool, set[int], set[int]]] = {}

    def _decide(self, node: onnx.NodeProto) -> tuple[bool, set[int], set[int]]:
        key = id(node)
        if key in self._cache:
            return self._cache[key]
        result: tuple[bool, set[int], set[int]] = (False, set(), set())
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            result = (value is not None and value.data_type == FLOAT, set(), {0})
        elif (node.domain in ("", "ai.onnx") and node.op_type not in self.keep
              and not any(a.type in _SUBGRAPH_ATTRS for a in node.attribute)):
            result = self._by_schema(node)
        self._cache[key] = result
        return result

    def _by_schema(self, node: onnx.NodeProto) -> tuple[bool, set[int], set[int]]:
        try:
            schema = onnx.defs.get_schema(node.op_type, self.opset, node.domain)
        except onnx.defs.SchemaError:
            return False, set(), set()
        allowed = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
        half_vars: set[str] = set()
        ins = [_formal(schema.inputs, i) for i in range(len(node.input))]
        for i, name in enumerate(node.input):
            t = ins[i]
            if name and self.types.get(name) == FLOAT and t in allowed \
                    and "tensor(float16)" in allowed[t]:
                half_vars.add(t)
        if node.op_type == "Cast" and _attr(node, "to") == FLOAT:
            half_inputs = {i for i, t in enumerate(ins) if t in half_vars}
            return True, half_inputs, {0}
        if not half_vars:
            return False, set(), set()
        half_inputs = {i for i, t in enumerate(ins) if t in half_vars}
        half_outputs = {i for i in range(len(node.output))
                        if _formal(schema.outputs, i) in half_vars}
        return True, half_inputs, half_outputs

    def runs_half(self, node: onnx.NodeProto) -> bool:
        return self._decide(node)[0]

    def wants_half(self, node: onnx.NodeProto, index: int) -> bool:
        runs, inputs, _ = self._decide(node)
        return runs and index in inputs

    def half_outputs(self, node: onnx.NodeProto) -> set[str]:
        _, _, outs = self._decide(node)
        return {node.output[i] for i in outs if i < len(node.output) and node.output[i]}


def _formal(params: Any, index: int) -> str:
    if index < len(params):
        return params[index].type_str
    last = params[-1] if len(params) else None
    return last.type_str if last is not None else ""


class _Casts:
    """One Cast per (tensor, type), shared by all readers that need it."""

    def __init__(self, graph: onnx.GraphProto, half: int) -> None:
        self.half = half
        self.made: dict[tuple[str, int], str] = {}
        self.pending: list[onnx.NodeProto] = []

    def get(self, name: str, to: int) -> str:
        key = (name, to)
        if key not in self.made:
            suffix = "fp32" if to == FLOAT else "half"
            out = f"{name}/to_{suffix}"
            self.pending.append(helper.make_node("Cast", [name], [out], to=to, name=out))
            self.made[key] = out
        return self.made[key]


def _rewire_subgraphs(node: onnx.NodeProto, half_tensors: set[str], casts: _Casts) -> None:
    # Loop/If/Scan bodies read outer-scope tensors by name and expect float32 (their bodies
    # are left in float32): give them a float32 copy of any outer tensor that became half.
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for sub in graphs:
            local = {i.name for i in sub.input} | {t.name for t in sub.initializer} \
                | {o for n in sub.node for o in n.output}
            for inner in sub.node:
                for i, name in enumerate(inner.input):
                    if name in half_tensors and name not in local:
                        inner.input[i] = casts.get(name, FLOAT)
                _rewire_subgraphs(inner, half_tensors - local, casts)


def _constant_to_half(node: onnx.NodeProto, half: int) -> None:
    for attr in node.attribute:
        if attr.name == "value" and attr.t.data_type == FLOAT:
            arr = numpy_helper.to_array(attr.t)
            attr.t.CopyFrom(numpy_helper.from_array(_cast(arr, half), attr.t.name))


def _cast(arr: np.ndarray, half: int) -> np.ndarray:
    if half == TensorProto.FLOAT16:
        # Clip to the half range: an fp32 weight of 1e6 must not become inf.
        return np.clip(arr, -65504, 65504).astype(np.float16)
    import ml_dtypes  # onnx's own dependency: numpy's bfloat16

    return arr.astype(ml_dtypes.bfloat16)


def _attr(node: onnx.NodeProto, name: str) -> Any:
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)


def _tensor_types(graph: onnx.GraphProto) -> dict[str, int]:
    types: dict[str, int] = {}
    for vi in [*graph.input, *graph.output, *graph.value_info]:
        if vi.type.HasField("tensor_type"):
            types[vi.name] = vi.type.tensor_type.elem_type
    for init in graph.initializer:
        types[init.name] = init.data_type
    for node in graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                types[node.output[0]] = value.data_type
    return types


def _sort_topologically(graph: onnx.GraphProto) -> None:
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    nodes, ordered = list(graph.node), []
    producers = {o: n for n in nodes for o in n.output}
    done: set[int] = set()

    def visit(node: onnx.NodeProto) -> None:
        stack = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            if id(current) in done:
                continue
            if expanded:
                done.add(id(current))
                ordered.append(current)
                continue
            stack.append((current, True))
            for name in [*current.input, *_outer_inputs(current)]:
                dep = producers.get(name)
                if name not in available and dep is not None and id(dep) not in done:
                    stack.append((dep, False))

    for node in nodes:
        visit(node)
    del graph.node[:]
    graph.node.extend(ordered)


def _outer_inputs(node: onnx.NodeProto) -> list[str]:
    names: list[str] = []
    for attr in node.attribute:
        for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)):
            names.extend(i for n in sub.node for i in n.input)
            for n in sub.node:
                names.extend(_outer_inputs(n))
    return names
