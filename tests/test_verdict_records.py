"""Typed verdict records (issue 13): every verdict the judges return, and every verdict in the
stored device-run results, writes through :meth:`Verdict.to_json` and reads back through
:meth:`Verdict.from_json` unchanged; the records are immutable."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from ab_records import synthetic

from harness.ab.verdict import judge as judge_ab
from harness.baseline.verdict import compare_case
from harness.pipeline.gates import apply_gates, gate
from harness.stats import summarize
from harness.verdict import Flag, MetricVerdict, Verdict

DEVICE_RUNS = Path(__file__).resolve().parent.parent / "docs" / "device-runs"


def round_trips(d: dict | Verdict) -> Verdict:
    if isinstance(d, Verdict):          # a judge's record: its JSON must read back the same
        d = d.to_json()
    v = Verdict.from_json(d)
    back = v.to_json()
    assert back == d and repr(back) == repr(d)      # same keys, order, values and types
    assert json.dumps(back, default=float) == json.dumps(d, default=float)
    return v


def result(level=1.0, seed=0, n=400, cv=0.002, **kw):
    x = level * np.exp(np.random.default_rng(seed).normal(0, cv, n))
    base = {"status": "ok", "samples_ms": x.tolist(), "stats_ms": summarize(x),
            "backend": {"name": "tensorrt", "version": "10.9"}, "precision": "fp16",
            "timing": {"timer": "cuda-event", "cuda_graph": True}}
    return {**base, **kw}


LAYERS_A = [{"name": "conv1", "type": "Convolution", "precision": "FP32", "tactic": "t1"}]
LAYERS_B = [{"name": "conv1", "type": "Convolution", "precision": "FP16", "tactic": "t9"}]


def stored_verdicts() -> dict[str, Verdict]:
    base = [result(seed=s) for s in range(5)]
    out = {
        "pass": compare_case(result(1.01, seed=9), base),
        "regression": compare_case(result(1.10, seed=9), base),
        "unstable": compare_case(result(1.2, seed=1, telemetry={"flagged_share": 0.3}), base),
        "new": compare_case(result(), []),
        "failed": compare_case({"status": "failed", "error": "boom"}, base),
        "skipped": compare_case({"status": "skipped", "error": "no GPU"}, base),
        "incomparable": compare_case(result(backend={"name": "tensorrt", "version": "11"}),
                                     base),
        "engine": compare_case(
            result(1.2, seed=3, build={"fingerprint": "b" * 16}, layers=LAYERS_B),
            [result(build={"fingerprint": "a" * 16}, layers=LAYERS_A)]),
    }
    out["gated"] = apply_gates(out["pass"], [gate("slo.fps", False, "12 fps < 30 fps",
                                                  value=12.0, limit=30.0)])
    return out


@pytest.mark.parametrize("name", list(stored_verdicts()))
def test_stored_verdicts_round_trip(name):
    d = stored_verdicts()[name].to_json()
    v = round_trips(d)
    assert v.status == d["status"] and v.reason == d["reason"]
    if name == "regression":
        assert v.metric == "median" and v.change == d["change"] and v.ci == tuple(d["ci"])
        assert isinstance(v.metrics["median"], MetricVerdict)
        assert v.metrics["median"].get("p_slower_adjusted") == \
            d["metrics"]["median"]["p_slower_adjusted"]
    if name == "gated":
        assert v.status == "regression" and v.gates[0]["gate"] == "slo.fps"
    if name == "engine":
        assert v.extra["engine"]["changed"]


def test_ab_verdicts_round_trip():
    records = [synthetic(0.05, 1), synthetic(0.0, 2, pairs=3), synthetic(0.0, 3),
               synthetic(0.0, 4, instances=2, noise=0.01),
               {"status": "failed", "error": "side B: boom", "blocks": []}]
    for r in records:
        judge_ab([r])
    statuses = {r["verdict"]["status"] for r in records}
    assert {"slower", "unstable", "failed"} <= statuses and statuses & {"same", "undecided"}
    for r in records:
        assert isinstance(r["verdict"], Verdict)
        round_trips(r["verdict"])


def _verdicts_in(doc: dict) -> list[dict]:
    return [x["verdict"] for key in ("cases", "ab", "records") for x in doc.get(key) or []
            if isinstance(x, dict) and isinstance(x.get("verdict"), dict)]


@pytest.mark.parametrize("name", ["study-results-h100.json.gz", "shootout-results-h100.json.gz",
                                  "gpu-core-results-trimmed.json", "ab-cli-05-h100.json.gz",
                                  "ab-cli-aa-h100.json.gz", "failclosed-report-1.json",
                                  "failclosed-report-2.json", "failclosed-report-3.json",
                                  "failclosed-tuning.json", "smoke.json"])
def test_device_run_results_read_and_write_back_identical(name):
    path = DEVICE_RUNS / name
    text = (gzip.decompress(path.read_bytes()).decode() if name.endswith(".gz")
            else path.read_text())
    doc = json.loads(text)
    verdicts = _verdicts_in(doc)
    assert verdicts
    for d in verdicts:
        round_trips(d)
    # the whole document, its verdicts rewritten through the records, serialises the same
    for key in ("cases", "ab", "records"):
        for x in doc.get(key) or []:
            if isinstance(x, dict) and isinstance(x.get("verdict"), dict):
                x["verdict"] = Verdict.from_json(x["verdict"]).to_json()
    assert json.dumps(doc) == json.dumps(json.loads(text))


def test_flags_and_old_files_default():
    v = Verdict.from_json({"status": "pass", "reason": "fine"})
    assert v.metrics == {} and v.flags == () and v.unstable == () and v.change is None
    assert v.to_json() == {"status": "pass", "reason": "fine"}
    f = round_trips({"status": "same", "reason": "", "flags": ["note", {"kind": "k",
                                                                         "text": "t"}]}).flags
    assert f == (Flag("note", "note"), Flag("k", "t"))
    built = Verdict("regression", "slower", metric="median", change=0.1, unstable=("busy",))
    assert built.to_json() == {"status": "regression", "reason": "slower", "metric": "median",
                               "change": 0.1, "unstable": ["busy"]}


def test_records_are_immutable():
    d = stored_verdicts()["regression"].to_json()
    v = Verdict.from_json(d)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "pass"                                   # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.metrics["median"].change = 0.0                    # type: ignore[misc]
    with pytest.raises(TypeError):
        v.metrics["p99"] = v.metrics["median"]              # type: ignore[index]
    with pytest.raises(TypeError):
        v.extra["baseline_runs"] = 0                        # type: ignore[index]
    with pytest.raises((TypeError, AttributeError)):
        v.ci.append(1.0)                                    # type: ignore[union-attr]
    with pytest.raises(TypeError):
        v.metrics["median"].evidence["terms"]["between_var"] = 0  # type: ignore[index]
    # reading copies: changing the source dict afterwards does not reach the record
    d["metrics"]["median"]["terms"]["between_var"] = -1.0
    assert v.metrics["median"].evidence["terms"]["between_var"] != -1.0
    assert v.to_json() != d
