"""What the runner does for a case after its engine measurement: the pipeline stages (when the
case declares pre/post steps or an SLO), the accuracy against the reference, and the memory
figures. Kept here so the runner's loop stays small."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from harness.backends.base import Engine
from harness.models.source import resolve_source
from harness.pipeline.accuracy import (
    compare_outputs,
    is_detections,
    match_detections,
    reference_outputs,
)
from harness.pipeline.memory import RssPeak
from harness.pipeline.stages import Pipeline, load_step, make_frames, measure_pipeline
from harness.results import CaseResult
from harness.scenario.expand import Case


def wants_pipeline(case: Case) -> bool:
    return case.pre is not None or case.post is not None or case.slo is not None


def build_pipeline(case: Case, engine: Engine, feed: dict[str, np.ndarray],
                   base_dir: str | None) -> Pipeline:
    pipe = Pipeline(engine, feed)
    if case.pre is not None:
        pipe.pre, pipe.pre_options = load_step(case.pre, "pre", base_dir), dict(case.pre.options)
        first = next(iter(feed.values()))
        pipe.frames = make_frames(case.frames, first.shape, first.shape[0] if first.ndim else 1,
                                  case.seed, base_dir)
    if case.post is not None:
        pipe.post = load_step(case.post, "post", base_dir)
        pipe.post_options = dict(case.post.options)
    return pipe


def finish_case(case: Case, engine: Engine, source: Any, feed: dict[str, np.ndarray],
                outputs: dict[str, np.ndarray], result: CaseResult, load_s: float | None,
                base_dir: str | None, rss: RssPeak | None = None) -> None:
    try:
        _stages_and_accuracy(case, engine, feed, outputs, result, load_s, base_dir)
    finally:   # memory figures stand even when a pipeline step fails
        record_memory(result, source, rss)


def _stages_and_accuracy(case: Case, engine: Engine, feed: dict[str, np.ndarray],
                         outputs: dict[str, np.ndarray], result: CaseResult,
                         load_s: float | None, base_dir: str | None) -> None:
    post_result = None
    if wants_pipeline(case):
        pipe = build_pipeline(case, engine, feed, base_dir)
        m = measure_pipeline(pipe, case.warmup, case.stop, load_s)
        result.stages = {**result.stages, **m.stages}   # GPU engines: h2d/infer/d2h kept
        result.timing["pipeline"] = {"clock": "host", "sync_per_stage": True,
                                     "stop_reason": m.stop_reason, "warmup_s": m.warmup_s,
                                     "frames": case.frames}
        if case.pre is not None:
            feed = pipe.pre(pipe.frames, pipe.input_specs(), **pipe.pre_options)
        outputs, post_result = m.outputs or outputs, m.post_result
    elif load_s is not None:
        result.stages = {**result.stages, "load": {"value_ms": load_s * 1e3}}
    try:
        result.accuracy = case_accuracy(case, feed, outputs, post_result, base_dir)
    except Exception as exc:   # the latency figures stand even when the reference fails
        result.warnings.append(f"accuracy: the reference could not be computed "
                               f"({type(exc).__name__}: {exc})")


def record_memory(result: CaseResult, source: Any, rss: RssPeak | None) -> None:
    mem = dict(result.memory)
    if source is not None and source.onnx_path and os.path.exists(source.onnx_path):
        mem["model_bytes"] = os.path.getsize(source.onnx_path)
    if rss is not None:
        peak = rss.read()
        if peak is not None:
            mem["host_rss_peak_bytes"] = peak
        if rss.before_bytes is not None:
            mem["host_rss_before_bytes"] = rss.before_bytes
        result.timing["host_rss_method"] = rss.method
    result.memory = mem


def _same_step(a: Any, b: Any) -> bool:
    return (a.model_dump() if a else None) == (b.model_dump() if b else None)


def case_accuracy(case: Case, feed: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
                  post_result: Any, base_dir: str | None) -> dict[str, Any] | None:
    """Accuracy of ``outputs`` (and the post-processed ``post_result``) against the case's
    reference on the same ``feed``; None for the reference case itself."""
    ref = case.reference
    ref_source, ref_post = ref.source or case.source, ref.post or case.post
    if not ref.enabled or (case.backend == ref.backend and case.precision == ref.precision
                           and ref_source == case.source and _same_step(ref_post, case.post)):
        return None
    label = f"{ref.backend}/{ref.precision} {ref_source}" + (
        f" + {ref_post.step}" if ref_post else "")
    if (ref.backend, ref.precision) != ("onnxruntime", "fp32"):
        return {"reference": None, "note": f"reference {label}: only FP32 ONNX Runtime "
                "references are computed in-process"}
    path = resolve_source(ref_source, base_dir, case.seed).onnx_path
    if path is None:
        return {"reference": None, "note": f"reference {label}: not an ONNX model"}
    ref_out = reference_outputs(path, feed)
    acc: dict[str, Any] = {"reference": label, "max_abs": None, "rel_l2": None,
                           "cosine": None, "detections": None}
    acc.update(compare_outputs(outputs, ref_out) or {})
    if ref_post is not None:
        ref_result = load_step(ref_post, "reference post", base_dir)(ref_out, **ref_post.options)
        if post_result is None and case.post is not None:
            post_result = load_step(case.post, "post", base_dir)(outputs, **case.post.options)
        if is_detections(post_result) and is_detections(ref_result):
            acc["detections"] = match_detections(post_result, ref_result, ref.iou)
    return acc
