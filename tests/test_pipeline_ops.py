"""Pipeline steps, NMS, accuracy metrics, gates and per-case memory: pure logic, fixed seeds."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.baseline.verdict import verdict
from harness.models.zoo import zoo_model
from harness.pipeline import ops
from harness.pipeline.accuracy import match_detections, output_errors
from harness.pipeline.gates import apply_gates, check_accuracy, check_slo
from harness.pipeline.memory import RssPeak


def _brute_nms(boxes, scores, iou):
    keep = []
    for i in np.argsort(-scores, kind="stable"):
        if all(ops.iou_matrix(boxes[i:i + 1], boxes[j:j + 1])[0, 0] <= iou for j in keep):
            keep.append(int(i))
    return keep


def test_iou_matrix_known_values():
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6]], np.float32)
    np.testing.assert_allclose(ops.iou_matrix(a, b)[0], [1.0, 1 / 7, 0.0], rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (200, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 30, (200, 2))], axis=1).astype(np.float32)
    scores = rng.random(200).astype(np.float32)
    assert ops.nms(boxes, scores, 0.4).tolist() == _brute_nms(boxes, scores, 0.4)


def test_batched_nms_never_suppresses_across_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert ops.batched_nms(boxes, scores, np.array([0, 1, 0]), 0.5).tolist() == [0, 1]


def test_yolo_nms_shapes_and_thresholds():
    rng = np.random.default_rng(0)
    pred = rng.normal(0, 1, (2, 16, 500)).astype(np.float32)
    pred[:, :2] = rng.uniform(0, 600, (2, 2, 500))
    pred[:, 2:4] = rng.uniform(5, 40, (2, 2, 500))
    pred[:, 4:] = 1 / (1 + np.exp(-pred[:, 4:]))
    dets = ops.yolo_nms({"output0": pred}, conf=0.5, iou=0.45)
    assert len(dets) == 2
    for d in dets:
        assert d.shape[1] == 6 and (d[:, 4] > 0.5).all() and set(d[:, 5]) <= set(range(12))


def test_resize_normalize_matches_block_average_at_exact_halving():
    frames = np.random.default_rng(0).integers(0, 256, (1, 8, 12, 3), dtype=np.uint8)
    out = ops.resize_normalize(frames, {"x": {"shape": (1, 3, 4, 6), "dtype": np.float32}},
                               mean=0.0, std=1.0)["x"]
    expected = frames.astype(np.float32).reshape(1, 4, 2, 6, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(out, expected.transpose(0, 3, 1, 2), rtol=1e-5)
    assert out.dtype == np.float32 and out.flags.c_contiguous


def test_in_graph_nms_agrees_with_python_nms():
    """The surgery's decode + NonMaxSuppression keeps the same faces as the numpy path."""
    x = np.random.default_rng(3).uniform(-1, 1, (2, 3, 240, 320)).astype(np.float32)
    heads = ort.InferenceSession(str(zoo_model("yunet")))
    graph = ort.InferenceSession(str(zoo_model("yunet-nms")))
    a = dict(zip([o.name for o in heads.get_outputs()], heads.run(None, {"input": x}), strict=True))
    b = dict(zip([o.name for o in graph.get_outputs()], graph.run(None, {"input": x}), strict=True))
    py, ing = ops.yunet_nms(a), ops.in_graph_nms(b)
    assert sum(len(d) for d in py) > 10
    m = match_detections(ing, py, 0.5)
    assert m["recall"] == 1.0 and m["precision"] == 1.0 and m["iou"] > 0.999


def test_output_errors():
    r = np.array([1.0, 2.0, 3.0])
    assert output_errors(r, r) == {"max_abs": 0.0, "rel_l2": 0.0, "cosine": 1.0}
    e = output_errors(r * 1.1, r)
    assert e["max_abs"] == pytest.approx(0.3) and e["rel_l2"] == pytest.approx(0.1)
    assert e["cosine"] == pytest.approx(1.0)
    assert output_errors(-r, r)["cosine"] == pytest.approx(-1.0)


def test_match_detections_recall_precision():
    ref = [np.array([[0, 0, 10, 10, 0.9, 0], [20, 20, 30, 30, 0.8, 1]], np.float32)]
    assert match_detections(ref, ref)["recall"] == 1.0
    missing = [ref[0][:1]]
    m = match_detections(missing, ref)
    assert m["recall"] == 0.5 and m["precision"] == 1.0
    wrong_class = [ref[0] * np.array([1, 1, 1, 1, 1, 0], np.float32)]
    assert match_detections(wrong_class, ref)["recall"] == 0.5   # box 2's class 1 -> 0
    none = match_detections([np.zeros((0, 6))], [np.zeros((0, 6))])
    assert none["recall"] == none["precision"] == 1.0


def test_slo_gates():
    stages = {"total": {"median": 40.0, "p99": 45.0}}
    fps, p99 = check_slo({"fps": 30, "p99": 0.05, "stage": "total"}, 1, stages, {})
    assert fps["status"] == "fail" and fps["value"] == pytest.approx(25.0)
    assert p99["status"] == "pass"
    # No pipeline stages: the engine's own figures are gated.
    [g] = check_slo({"fps": 30, "stage": "total"}, 4, {}, {"median": 40.0})
    assert g["status"] == "pass" and "engine" in g["reason"]
    assert check_slo(None, 1, stages, {}) == []


def test_accuracy_gates_and_verdict():
    acc = {"reference": "ort", "rel_l2": 0.02,
           "detections": {"recall": 0.97, "precision": 1.0}}
    gates = check_accuracy(acc, 0.01)
    assert [g["status"] for g in gates] == ["fail", "fail"]
    assert [g["status"] for g in check_accuracy(acc, 0.05)] == ["pass", "pass"]
    v = apply_gates(verdict("pass", "median +0.1%"), gates)
    assert v["status"] == "regression" and "relative L2" in v["reason"]
    assert v["latency"]["status"] == "pass"
    # A failed case stays failed; no gates -> verdict unchanged.
    assert apply_gates(verdict("failed", "x"), gates)["status"] == "failed"
    assert apply_gates(verdict("new", "x"), []).to_json() == {"status": "new", "reason": "x"}


def test_rss_peak_is_per_case():
    import mmap

    with RssPeak() as first:
        # 40 MB of fresh anonymous pages, touched: a heap allocation could reuse memory an
        # earlier test freed but the allocator kept resident, and RSS would not grow
        block = mmap.mmap(-1, 40_000_000)
        view = np.frombuffer(block, dtype=np.uint8)
        view[::4096] = 1
        del view
        block.close()
    with RssPeak() as second:
        pass
    if not first.method.startswith("VmHWM"):
        pytest.skip(f"per-case reset not available here ({first.method})")
    assert first.peak_bytes - first.before_bytes >= 30_000_000
    # The second case does not inherit the first one's peak (ru_maxrss would).
    assert second.peak_bytes < first.peak_bytes - 20_000_000
