"""YuNet's output geometry (heads at strides 8/16/32 and their anchor grid), and graph surgery
with plain ``onnx`` that moves YuNet's decode + NMS into the graph.

The geometry lives here, beside the zoo that builds the model, so the Python decode
(:func:`harness.pipeline.ops.yunet_decode`) and the in-graph one read the same anchors.

The YuNet article moved NMS into the TensorRT engine (onnx-graphsurgeon + EfficientNMS_TRT)
and the total time fell from 14.6 ms to 8.2 ms while inference stayed at ~3.5 ms. Here the same
surgery uses the standard ONNX ``NonMaxSuppression`` op, which ONNX Runtime runs and TensorRT
imports (its INMSLayer), so one model file serves every backend. The decode is the one of
:func:`harness.pipeline.ops.yunet_decode`, in graph ops, so the two paths agree box for box.

Outputs of the new graph: ``selected_indices`` (K x 3: batch, class, box), ``boxes``
(N x A x 4, x1y1x2y2 pixels) and ``scores`` (N x 1 x A); :func:`~harness.pipeline.ops.in_graph_nms`
gathers the kept detections.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:       # onnx is imported by the surgery alone: the decode needs only numpy
    import onnx

YUNET_STRIDES = (8, 16, 32)


@cache
def yunet_priors(height: int = 240, width: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """Anchor centres (col, row) and strides of YuNet's three heads, in head order."""
    centres, strides = [], []
    for s in YUNET_STRIDES:
        rows, cols = -(-height // s), -(-width // s)
        yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres.append(np.stack([xx.ravel(), yy.ravel()], axis=1))
        strides.append(np.full(rows * cols, s))
    return (np.concatenate(centres).astype(np.float32),
            np.concatenate(strides).astype(np.float32)[:, None])


def add_yunet_nms(model: onnx.ModelProto, *, height: int = 240, width: int = 320,
                  score: float = 0.5, iou: float = 0.3, max_det: int = 750) -> onnx.ModelProto:
    """A copy of the YuNet-style ``model`` whose 12 head outputs are decoded and suppressed
    inside the graph. Thresholds match :func:`~harness.pipeline.ops.yunet_nms`'s defaults."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    heads = {o.name for o in g.output}
    missing = {f"{k}_{s}" for k in ("cls", "obj", "bbox") for s in YUNET_STRIDES} - heads
    if missing:
        raise ValueError(f"not a YuNet-style model: outputs {sorted(missing)} are missing")
    priors, strides = yunet_priors(height, width)
    consts = {
        "nms_priors": priors, "nms_strides": strides,
        "nms_half": np.asarray(0.5, np.float32), "nms_zero": np.asarray(0.0, np.float32),
        "nms_lo": np.asarray(-10.0, np.float32), "nms_hi": np.asarray(10.0, np.float32),
        "nms_s0": np.asarray([0], np.int64), "nms_s2": np.asarray([2], np.int64),
        "nms_s4": np.asarray([4], np.int64), "nms_axis": np.asarray([2], np.int64),
        "nms_max": np.asarray([max_det], np.int64), "nms_iou": np.asarray([iou], np.float32),
        "nms_score": np.asarray([score], np.float32),
    }
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items())
    node = helper.make_node
    nodes = [node("Concat", [f"{k}_{s}" for s in YUNET_STRIDES], [f"nms_{k}"], axis=1)
             for k in ("cls", "obj", "bbox")]
    nodes += [
        node("Mul", ["nms_cls", "nms_obj"], ["nms_co"]),
        node("Max", ["nms_co", "nms_zero"], ["nms_co_pos"]),
        node("Sqrt", ["nms_co_pos"], ["nms_score_col"]),                      # N x A x 1
        node("Transpose", ["nms_score_col"], ["scores"], perm=[0, 2, 1]),     # N x 1 x A
        node("Slice", ["nms_bbox", "nms_s0", "nms_s2", "nms_axis"], ["nms_dxy"]),
        node("Slice", ["nms_bbox", "nms_s2", "nms_s4", "nms_axis"], ["nms_dwh"]),
        node("Add", ["nms_dxy", "nms_priors"], ["nms_cell"]),
        node("Mul", ["nms_cell", "nms_strides"], ["nms_centre"]),
        node("Clip", ["nms_dwh", "nms_lo", "nms_hi"], ["nms_dwh_c"]),
        node("Exp", ["nms_dwh_c"], ["nms_ewh"]),
        node("Mul", ["nms_ewh", "nms_strides"], ["nms_size"]),
        node("Mul", ["nms_size", "nms_half"], ["nms_half_size"]),
        node("Sub", ["nms_centre", "nms_half_size"], ["nms_tl"]),
        node("Add", ["nms_centre", "nms_half_size"], ["nms_br"]),
        node("Concat", ["nms_tl", "nms_br"], ["boxes"], axis=2),             # N x A x 4
        # Corners in x1y1x2y2 order: IoU is the same as for the spec's y1x1y2x2.
        node("NonMaxSuppression", ["boxes", "scores", "nms_max", "nms_iou", "nms_score"],
             ["selected_indices"], center_point_box=0),
    ]
    g.node.extend(nodes)
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info("selected_indices", TensorProto.INT64, ["selected", 3]),
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["batch", len(priors), 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 1, len(priors)]),
    ])
    g.name = f"{g.name}-nms"
    onnx.checker.check_model(m, full_check=True)
    return m
