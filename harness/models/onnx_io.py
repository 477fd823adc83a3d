"""The IO tensors an ONNX file declares, read without a runtime (for backends that build
from ONNX: TensorRT before parsing, torch through the ONNX interpreter)."""

from __future__ import annotations

from harness.tensors import TensorSpec


def onnx_input_specs(path: str) -> list[TensorSpec]:
    """Graph inputs that are not initializers, with numpy dtype names and dims (ints for
    static dims, the dim's name or None for dynamic ones)."""
    import onnx
    from onnx import helper

    model = onnx.load(path, load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                     for d in t.shape.dim)
        specs.append(TensorSpec(vi.name, str(helper.tensor_dtype_to_np_dtype(t.elem_type)),
                                dims))
    return specs
