"""Pre- and post-processing steps, in plain numpy, as an application would run them on the CPU.

A scenario names them as ``module:function`` (``pre = "harness.pipeline.ops:resize_normalize"``)
with keyword ``options``. The contracts:

- pre:  ``pre(frames, inputs, **options) -> {input name: array}``, where ``frames`` is a batch
  of uint8 HxWxC camera frames and ``inputs`` the engine's input specs (name, dtype, shape at
  this case's run shapes).
- post: ``post(outputs, **options) -> result``; detectors return one ``K x 6`` array per image
  (``x1, y1, x2, y2, score, class``), which accuracy matches by IoU against the reference.

They are deliberately not vectorised beyond what numpy gives for free: the point of the
YuNet article is that this CPU-side work can cost more than the inference itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.models.yunet import YUNET_STRIDES, yunet_priors

Detections = list[np.ndarray]   # per image: K x 6 (x1, y1, x2, y2, score, class)


# -- pre-processing ----------------------------------------------------------------------
def resize_normalize(frames: np.ndarray, inputs: dict[str, Any], *, mean: Any = 0.0,
                     std: Any = 255.0, bgr_to_rgb: bool = False,
                     input: str | None = None) -> dict[str, np.ndarray]:
    """Resize uint8 ``N x H x W x C`` frames to the input's NCHW size (bilinear), scale to
    ``(x - mean) / std`` per channel and lay out as NCHW in the input's dtype."""
    name = input or next(iter(inputs))
    spec = inputs[name]
    _, c, h, w = spec["shape"]
    x = frames[..., ::-1] if bgr_to_rgb else frames
    x = _resize_bilinear(x, h, w)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)[:, :c])
    return {name: x.astype(spec["dtype"], copy=False)}


def _resize_bilinear(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of ``N x H x W x C`` (align_corners=False, as cv2.resize)."""
    _, h0, w0, _ = x.shape
    if (h0, w0) == (h, w):
        return x.astype(np.float32)
    ys = np.clip((np.arange(h) + 0.5) * h0 / h - 0.5, 0, h0 - 1)
    xs = np.clip((np.arange(w) + 0.5) * w0 / w - 0.5, 0, w0 - 1)
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, h0 - 1), np.minimum(x0 + 1, w0 - 1)
    wy = (ys - y0).astype(np.float32)[None, :, None, None]
    wx = (xs - x0).astype(np.float32)[None, None, :, None]
    # Separable (rows, then columns), gathering before converting: uint8 frames stay small.
    rows = np.take(x, y0, axis=1) * (1 - wy) + np.take(x, y1, axis=1) * wy
    return np.take(rows, x0, axis=2) * (1 - wx) + np.take(rows, x1, axis=2) * wx


# -- NMS --------------------------------------------------------------------------------
def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (M x 4, x1y1x2y2) with every box in ``b`` (N x 4)."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:4] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:4] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, max_keep: int | None = None
        ) -> np.ndarray:
    """Greedy non-maximum suppression on the CPU (the classic Python loop): indices kept,
    best score first. Ties in score keep the lower index first, as ONNX NonMaxSuppression."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if max_keep is not None and len(keep) >= max_keep:
            break
        rest = order[1:]
        overlap = iou_matrix(boxes[i:i + 1], boxes[rest])[0]
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float,
                max_keep: int | None = None) -> np.ndarray:
    """Per-class NMS in one pass: boxes of different classes are shifted apart so they never
    overlap (the offset trick of torchvision's batched_nms)."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    offset = classes[:, None].astype(boxes.dtype) * (float(boxes.max()) + 1.0)
    return nms(boxes + offset, scores, iou, max_keep)


# -- detector post-processing ------------------------------------------------------------
def yolo_nms(outputs: dict[str, np.ndarray], *, conf: float = 0.25, iou: float = 0.45,
             max_candidates: int = 1000, max_det: int = 300, output: str | None = None
             ) -> Detections:
    """YOLO-style ``N x (4 + classes) x anchors`` (cx, cy, w, h, class scores): best class per
    anchor, confidence filter, top candidates, per-class NMS."""
    pred = outputs[output] if output else next(iter(outputs.values()))
    result = []
    for p in pred.astype(np.float32, copy=False):       # (4 + C) x A
        cls_scores = p[4:]
        cls = cls_scores.argmax(axis=0)
        score = cls_scores[cls, np.arange(p.shape[1])]
        idx = np.flatnonzero(score > conf)
        idx = idx[np.argsort(-score[idx], kind="stable")[:max_candidates]]
        cx, cy, w, h = p[:4, idx]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        keep = batched_nms(boxes, score[idx], cls[idx], iou, max_det)
        result.append(np.column_stack([boxes[keep], score[idx][keep], cls[idx][keep]])
                      .astype(np.float32) if keep.size else np.zeros((0, 6), np.float32))
    return result


def yunet_decode(outputs: dict[str, np.ndarray], height: int = 240, width: int = 320
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N x A x 4, x1y1x2y2 in pixels) and scores (N x A) from YuNet's 12 heads:
    score = sqrt(cls * obj); centre = (prior + d) * stride; size = exp(d) * stride."""
    priors, strides = yunet_priors(height, width)
    cat = {k: np.concatenate([outputs[f"{k}_{s}"] for s in YUNET_STRIDES], axis=1)
           for k in ("cls", "obj", "bbox")}
    scores = np.sqrt(np.clip(cat["cls"][..., 0] * cat["obj"][..., 0], 0, None))
    bbox = cat["bbox"]
    centre = (bbox[..., :2] + priors) * strides
    size = np.exp(np.clip(bbox[..., 2:4], -10, 10)) * strides
    return np.concatenate([centre - size / 2, centre + size / 2], axis=-1), scores


def yunet_nms(outputs: dict[str, np.ndarray], *, score: float = 0.5, iou: float = 0.3,
              max_det: int = 750, height: int = 240, width: int = 320) -> Detections:
    """The YuNet article's CPU path: decode the heads, threshold, NMS in Python."""
    boxes, scores = yunet_decode(outputs, height, width)
    result = []
    for b, s in zip(boxes, scores, strict=True):
        idx = np.flatnonzero(s > score)
        keep = idx[nms(b[idx], s[idx], iou, max_det)]
        result.append(_faces(b[keep], s[keep]))
    return result


def in_graph_nms(outputs: dict[str, np.ndarray], *, batch: int | None = None) -> Detections:
    """Post-processing after NMS inside the graph (ONNX NonMaxSuppression): only gather the
    selected boxes. Expects ``selected_indices`` (K x 3: batch, class, box), ``boxes``
    (N x A x 4) and ``scores`` (N x 1 x A)."""
    sel = outputs["selected_indices"]
    boxes, scores = outputs["boxes"], outputs["scores"]
    n = batch or boxes.shape[0]
    result = []
    for i in range(n):
        rows = sel[sel[:, 0] == i]
        result.append(_faces(boxes[i, rows[:, 2]], scores[i, rows[:, 1], rows[:, 2]]))
    return result


def _faces(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    out = np.zeros((len(scores), 6), np.float32)
    out[:, :4], out[:, 4] = boxes, scores
    return out


# -- classifier post-processing ----------------------------------------------------------
def softmax_topk(outputs: dict[str, np.ndarray], *, k: int = 5, output: str | None = None
                 ) -> dict[str, np.ndarray]:
    """Class probabilities and the top-k classes per item (a driver-state classifier)."""
    logits = (outputs[output] if output else next(iter(outputs.values()))).astype(np.float32)
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    prob = z / z.sum(axis=-1, keepdims=True)
    top = np.argsort(-prob, axis=-1, kind="stable")[..., :k]
    return {"top": top, "prob": np.take_along_axis(prob, top, axis=-1)}
