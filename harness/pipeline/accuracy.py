"""Accuracy beside latency: every case's outputs against a reference on the same inputs.

The source articles never report a speed-up without its accuracy cost (-0.3 % for FP16,
-1.2 % mAP for INT8). The reference is FP32 ONNX Runtime on the same model and the same input
arrays, run once per case (cheap beside the measurement). Raw outputs are compared by max abs
error, relative L2 error and cosine similarity; detectors also after post-processing, by
matching boxes at an IoU threshold (recall and precision of the test against the reference).
Pure functions apart from :func:`reference_outputs`.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import numpy as np

from harness.pipeline.ops import iou_matrix


def output_errors(test: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """max abs error, relative L2 error (||t - r|| / ||r||) and cosine similarity."""
    t, r = test.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    diff = t - r
    norm_r, norm_t = float(np.linalg.norm(r)), float(np.linalg.norm(t))
    rel = float(np.linalg.norm(diff)) / norm_r if norm_r else (0.0 if not diff.any() else
                                                               float("inf"))
    cos = float(t @ r) / (norm_t * norm_r) if norm_t and norm_r else (
        1.0 if norm_t == norm_r else 0.0)
    return {"max_abs": float(np.abs(diff).max()) if diff.size else 0.0, "rel_l2": rel,
            "cosine": cos}


def compare_outputs(test: dict[str, np.ndarray], ref: dict[str, np.ndarray]
                    ) -> dict[str, Any] | None:
    """Per output (those with the same name and shape in both) and the worst over them."""
    per = {k: output_errors(v, ref[k]) for k, v in test.items()
           if k in ref and np.shape(v) == np.shape(ref[k])}
    if not per:
        return None
    return {"max_abs": max(p["max_abs"] for p in per.values()),
            "rel_l2": max(p["rel_l2"] for p in per.values()),
            "cosine": min(p["cosine"] for p in per.values()), "outputs": per}


def is_detections(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(d, np.ndarray) and d.ndim == 2
                                           and d.shape[1] >= 6 for d in value)


def match_detections(test: list[np.ndarray], ref: list[np.ndarray], iou: float = 0.5
                     ) -> dict[str, Any]:
    """Greedy matching per image, best test score first, same class, IoU >= ``iou``.
    recall = matched / reference boxes; precision = matched / test boxes; ``iou`` the mean
    IoU of the matched pairs. Empty on both sides counts as full agreement."""
    matched = n_test = n_ref = 0
    ious: list[float] = []
    for t, r in zip(test, ref, strict=True):
        n_test, n_ref = n_test + len(t), n_ref + len(r)
        if not len(t) or not len(r):
            continue
        t = t[np.argsort(-t[:, 4], kind="stable")]
        m = iou_matrix(t[:, :4], r[:, :4])
        m[t[:, 5][:, None] != r[:, 5][None, :]] = 0.0
        taken = np.zeros(len(r), bool)
        for row in m:
            row = np.where(taken, -1.0, row)
            j = int(row.argmax())
            if row[j] >= iou:
                taken[j] = True
                matched += 1
                ious.append(float(row[j]))
    return {"recall": matched / n_ref if n_ref else 1.0,
            "precision": matched / n_test if n_test else 1.0,
            "iou": float(np.mean(ious)) if ious else (1.0 if not n_ref and not n_test else 0.0),
            "matched": matched, "test_boxes": n_test, "reference_boxes": n_ref,
            "iou_threshold": iou}


def _feed_key(feed: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(feed):
        h.update(k.encode())
        h.update(str(feed[k].dtype).encode() + str(feed[k].shape).encode())
        h.update(np.ascontiguousarray(feed[k]).tobytes())
    return h.hexdigest()


_OUTPUTS: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def reference_outputs(onnx_path: str, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """FP32 ONNX Runtime outputs of ``onnx_path`` on ``feed`` (basic graph optimisations only:
    the reference should be the plain graph), memoised per model and feed: the cases of a
    precision ladder share one reference run."""
    key = (onnx_path, _feed_key(feed))
    if key not in _OUTPUTS:
        session = _session(onnx_path)
        # The test engine may take fp16 inputs (a converted model): the reference takes fp32.
        wants = {i.name: i.type for i in session.get_inputs()}
        feed = {k: v.astype(np.float32) if v.dtype.kind == "f" and wants.get(k) == "tensor(float)"
                else v for k, v in feed.items()}
        names = [o.name for o in session.get_outputs()]
        if len(_OUTPUTS) >= 8:
            _OUTPUTS.pop(next(iter(_OUTPUTS)))
        _OUTPUTS[key] = dict(zip(names, session.run(names, feed), strict=True))
    return _OUTPUTS[key]


@lru_cache(maxsize=4)
def _session(onnx_path: str) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.log_severity_level = 3
    return ort.InferenceSession(onnx_path, sess_options=so, providers=["CPUExecutionProvider"])
