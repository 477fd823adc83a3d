"""The shipped study scenarios, CI-sized (``--quick``), on the CPU; SLO and accuracy gating."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from harness import api
from harness.cli import main
from harness.models.zoo import zoo_model

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
STUDIES = ["face-detect-ladder", "yunet-nms", "yolo-8400", "dms-breakdown", "runtime-shootout"]


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    outcome = api.run([SCENARIOS / f"{s}.toml" for s in STUDIES], out_dir=out / "reports",
                      baselines=out / "baselines", quick=True)
    return outcome


def test_every_study_runs_its_cpu_cases(studies):
    # Only a missed SLO may fail the run here (a loaded 2-core CI machine can miss 30 fps);
    # nothing may break, and no baseline exists to regress against.
    for c in studies.run.cases:
        if c.verdict["status"] == "regression":
            assert c.verdict["metric"].startswith("slo."), c.verdict
    by_scenario: dict[str, list] = {}
    for c in studies.run.cases:
        by_scenario.setdefault(c.case["scenario"], []).append(c)
        assert c.status in ("ok", "skipped"), (c.id, c.error)
        if c.status == "skipped":
            assert c.error, f"{c.id} skipped without a reason"
        if c.backend["name"] == "onnxruntime" and c.case["precision"] == "fp32":
            assert c.status == "ok", c.id
    assert set(by_scenario) == set(STUDIES)
    for name, cases in by_scenario.items():
        assert any(c.status == "ok" for c in cases), f"{name}: nothing ran on the CPU"


def test_stages_memory_and_load(studies):
    for c in studies.run.cases:
        if c.status != "ok":
            continue
        assert c.stages["load"]["value_ms"] > 0
        assert c.memory["model_bytes"] > 0 and c.memory["host_rss_peak_bytes"] > 0
        if c.case["pre"] or c.case["post"] or c.case["slo"]:
            for stage in ("h2d", "infer", "d2h", "total"):
                s = c.stages[stage]
                assert s["n"] == len(s["samples_ms"]) >= 3 and s["median"] > 0
            parts = sum(c.stages[k]["median"] for k in ("pre", "h2d", "infer", "d2h", "post")
                        if k in c.stages)
            # Medians do not add exactly; the total is still of the order of its parts.
            assert 0.5 * parts < c.stages["total"]["median"] < 2.0 * parts
            assert ("pre" in c.stages) == bool(c.case["pre"])


def test_yunet_in_graph_nms_agrees_with_python_nms(studies):
    run = studies.run
    graph = run.case("yunet-nms/graph-nms/onnxruntime/fp32/b1")
    python = run.case("yunet-nms/python-nms/onnxruntime/fp32/b1")
    assert python.accuracy is None                     # it is the reference
    det = graph.accuracy["detections"]
    assert det["reference_boxes"] > 10 and det["recall"] == 1.0 and det["precision"] == 1.0
    assert graph.verdict["gates"][0]["status"] == "pass"


def test_dms_slo_is_recorded(studies):
    dms = studies.run.case("dms-breakdown/dms/onnxruntime/fp32/b1")
    gates = {g["gate"]: g for g in dms.verdict["gates"]}
    assert set(gates) == {"slo.fps"} and gates["slo.fps"]["limit"] == 30
    assert set(dms.stages) >= {"load", "pre", "h2d", "infer", "d2h", "post", "total"}


def test_skipped_backends_say_why(studies):
    reasons = {c.backend["name"]: c.error for c in studies.run.cases if c.status == "skipped"}
    assert {"tensorrt", "torch"} <= set(reasons)
    assert all(reasons.values())


def test_unreachable_slo_fails_the_run(write_toml, tmp_path):
    path = write_toml("""
        name = "slo"
        [defaults]
        warmup = { min_time = "10ms", max_time = "100ms" }
        stop = { min_samples = 5, min_time = "0s", max_time = "200ms" }
        slo = { fps = 1e9 }
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:{batch}x8"
        post = "harness.pipeline.ops:softmax_topk"
        """)
    rc = main(["run", str(path), "--out", str(tmp_path / "r"), "--baselines",
               str(tmp_path / "b"), "-q"])
    assert rc == 1
    res = api.load_results(tmp_path / "r" / "results.json")
    v = res.cases[0].verdict
    assert v["status"] == "regression" and v["metric"] == "slo.fps" and "fps" in v["reason"]


def _perturbed(tmp_path: Path, scale: float) -> Path:
    model = onnx.load(str(zoo_model("resnet")))
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.ndim == 4:
            init.CopyFrom(numpy_helper.from_array(arr * np.float32(scale), init.name))
    path = tmp_path / f"resnet-{scale}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(("scale", "tolerance", "rc"), [(1.0001, 0.01, 0), (1.2, 0.01, 1)])
def test_accuracy_delta_is_gated(write_toml, tmp_path, scale, tolerance, rc):
    model = _perturbed(tmp_path, scale)
    path = write_toml(f"""
        name = "acc"
        [defaults]
        warmup = {{ min_time = "10ms", max_time = "100ms" }}
        stop = {{ min_samples = 5, min_time = "0s", max_time = "200ms" }}
        tolerance = {{ accuracy = {tolerance} }}
        reference = {{ source = "zoo:resnet" }}
        [[model]]
        id = "r"
        source = "{model}"
        shapes = "input:1x3x224x224"
        """)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    [c] = out.run.cases
    assert c.accuracy["reference"].startswith("onnxruntime/fp32 zoo:resnet")
    assert c.accuracy["rel_l2"] > 0 and c.accuracy["cosine"] > 0.9
    assert out.exit_code == rc


def test_bad_step_is_a_clear_error(write_toml, tmp_path):
    path = write_toml("""
        name = "bad"
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        post = "harness.pipeline.ops:no_such_step"
        """)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b", quick=True)
    [c] = out.run.cases
    assert c.status == "failed" and "no_such_step" in c.error
