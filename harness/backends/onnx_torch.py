"""A small ONNX -> torch interpreter: an ``nn.Module`` that runs an ONNX graph node by node
with torch ops, so the zoo's models (and ONNX files using the same ops) run on the torch
backend in eager, CUDA-graph and torch.compile modes alike.

The op set is the zoo's: Conv, Relu, Sigmoid, MaxPool, Add, Mul, MatMul, Gemm,
GlobalAveragePool, Flatten, Transpose, Reshape, Concat, Slice, Gather, LayerNormalization,
Softmax. Another op raises an error naming it. Shape-like constant inputs (Reshape's shape,
Slice's bounds) are read once at load time, so the forward pass has no data-dependent
Python and torch.compile traces it whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.errors import ConfigError

SUPPORTED = ("Conv", "Relu", "Sigmoid", "MaxPool", "Add", "Mul", "MatMul", "Gemm",
             "GlobalAveragePool", "Flatten", "Transpose", "Reshape", "Concat", "Slice", "Gather",
             "LayerNormalization", "Softmax", "Resize")
# read at load time (Resize: roi, scales, sizes)
_CONST_INPUTS = {"Reshape": (1,), "Slice": (1, 2, 3, 4), "Resize": (1, 2, 3)}


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def load(path: str) -> Any:
    """The ONNX file at ``path`` as a torch module (weights as buffers, fp32)."""
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(path)
    graph = model.graph
    unknown = sorted({n.op_type for n in graph.node} - set(SUPPORTED))
    if unknown:
        raise ConfigError(f"{path}: the torch backend's ONNX interpreter does not support ops "
                          f"{unknown}", expected=", ".join(SUPPORTED))
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    const_names = {n.input[i] for n in graph.node for i in _CONST_INPUTS.get(n.op_type, ())
                   if i < len(n.input) and n.input[i]}

    class OnnxModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input_names = [i.name for i in graph.input if i.name not in inits]
            self.output_names = [o.name for o in graph.output]
            self._keys: dict[str, str] = {}
            for i, (name, arr) in enumerate(inits.items()):
                if name in const_names:
                    continue
                key = f"w{i}"
                self._keys[name] = key
                self.register_buffer(key, torch.from_numpy(np.array(arr, copy=True)))
            # Python numbers: ints stay ints (shapes, slices), floats stay floats (scales)
            self.consts = {k: np.asarray(v).reshape(-1).tolist()
                           for k, v in inits.items() if k in const_names}
            self.steps = [(n.op_type, list(n.input), list(n.output), _attrs(n))
                          for n in graph.node]

        def forward(self, *args: Any) -> tuple[Any, ...]:
            env = dict(zip(self.input_names, args, strict=True))
            for name, key in self._keys.items():
                env[name] = getattr(self, key)
            for op, ins, outs, attrs in self.steps:
                env[outs[0]] = _apply(op, ins, attrs, env, self.consts)
            return tuple(env[n] for n in self.output_names)

    return OnnxModule()


def _apply(op: str, ins: list[str], a: dict[str, Any], env: dict[str, Any],
           consts: dict[str, list[int]]) -> Any:
    import torch
    import torch.nn.functional as F

    x = env.get(ins[0]) if ins else None
    if op == "Conv":
        pads = a.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:]:
            x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
            pads = [0, 0]
        bias = env[ins[2]] if len(ins) > 2 and ins[2] else None
        return F.conv2d(x, env[ins[1]], bias, stride=a.get("strides", [1, 1]),
                        padding=pads[:2], dilation=a.get("dilations", [1, 1]),
                        groups=a.get("group", 1))
    if op == "Relu":
        return F.relu(x)
    if op == "Sigmoid":
        return torch.sigmoid(x)
    if op == "MaxPool":
        pads = a.get("pads", [0, 0, 0, 0])
        return F.max_pool2d(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]),
                            pads[:2], ceil_mode=bool(a.get("ceil_mode", 0)))
    if op == "Add":
        return x + env[ins[1]]
    if op == "Mul":
        return x * env[ins[1]]
    if op == "MatMul":
        return torch.matmul(x, env[ins[1]])
    if op == "Gemm":
        b = env[ins[1]]
        y = torch.matmul(x.t() if a.get("transA") else x, b.t() if a.get("transB") else b)
        y = y * a.get("alpha", 1.0)
        if len(ins) > 2 and ins[2]:
            y = y + a.get("beta", 1.0) * env[ins[2]]
        return y
    if op == "GlobalAveragePool":
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
    if op == "Flatten":
        axis = a.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:axis])) if axis else 1, -1)
    if op == "Transpose":
        return x.permute(*a["perm"])
    if op == "Reshape":
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(consts[ins[1]])]
        return x.reshape(shape)
    if op == "Concat":
        return torch.cat([env[i] for i in ins], dim=a["axis"])
    if op == "Slice":
        return _slice(x, ins, consts)
    if op == "Gather":
        axis = a.get("axis", 0)
        idx = env[ins[1]]
        flat = torch.index_select(x, axis, idx.reshape(-1))
        return flat.reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])
    if op == "LayerNormalization":
        axis = a.get("axis", -1) % x.dim()
        return F.layer_norm(x, tuple(x.shape[axis:]), env[ins[1]],
                            env[ins[2]] if len(ins) > 2 and ins[2] else None,
                            a.get("epsilon", 1e-5))
    if op == "Softmax":
        return torch.softmax(x, dim=a.get("axis", -1))
    if op == "Resize":
        return _resize(x, ins, a, consts)
    raise ConfigError(f"ONNX op {op!r} is not supported by the torch interpreter")


def _resize(x: Any, ins: list[str], a: dict[str, Any], consts: dict[str, list[Any]]) -> Any:
    """ONNX Resize on NCHW with constant scales or sizes; nearest (half-pixel or asymmetric
    coordinates) and linear (half-pixel or align-corners), the modes exporters emit."""
    import torch.nn.functional as F

    def text(key: str, default: str) -> str:
        v = a.get(key, default)
        return v.decode() if isinstance(v, bytes) else v

    mode, ctm = text("mode", "nearest"), text("coordinate_transformation_mode", "half_pixel")
    sizes = consts.get(ins[3]) if len(ins) > 3 and ins[3] else None
    scales = consts.get(ins[2]) if len(ins) > 2 and ins[2] else None
    if x.dim() != 4 or (sizes or scales or [1, 1])[:2] != [1, 1]:
        raise ConfigError("the torch interpreter resizes NCHW tensors over H and W only")
    size = {"size": [int(v) for v in sizes[2:]]} if sizes else {
        "scale_factor": [float(v) for v in scales[2:]]}
    if mode == "nearest" and ctm in ("half_pixel", "asymmetric"):
        return F.interpolate(x, mode="nearest" if ctm == "asymmetric" else "nearest-exact",
                             **size)
    if mode == "linear" and ctm in ("half_pixel", "align_corners", "pytorch_half_pixel"):
        return F.interpolate(x, mode="bilinear", align_corners=ctm == "align_corners", **size)
    raise ConfigError(f"Resize mode {mode!r} with coordinate_transformation_mode {ctm!r} is not "
                      "supported by the torch interpreter")


def _slice(x: Any, ins: list[str], consts: dict[str, list[int]]) -> Any:
    starts, ends = consts[ins[1]], consts[ins[2]]
    axes = consts[ins[3]] if len(ins) > 3 and ins[3] else list(range(len(starts)))
    steps = consts[ins[4]] if len(ins) > 4 and ins[4] else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        index[ax % x.dim()] = slice(s, min(e, 2**62), st)
    return x[tuple(index)]
