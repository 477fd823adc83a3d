"""End to end on the embedded default (ONNX Runtime, CPU): run, accept, re-judge, regress."""

from __future__ import annotations

import json

from harness import api
from harness.cli import main


def test_run_accept_regress(tiny_scenario, tmp_path):
    out, base = tmp_path / "reports", tmp_path / "baselines"
    first = api.run([tiny_scenario], out_dir=out, baselines=base)
    assert first.exit_code == 0
    [case] = first.run.cases
    assert case.status == "ok" and case.verdict["status"] == "new"
    assert len(case.samples_ms) == case.stats_ms["n"] >= 10
    assert case.throughput > 0 and case.backend["name"] == "onnxruntime"

    data = json.loads((out / "results.json").read_text())
    assert data["schema"] == "trt-harness/results/1" and data["complete"] is True
    assert data["platform"]["host"]["cores"] >= 1
    html = (out / "index.html").read_text()
    assert "tiny/transformer/onnxruntime/fp32/b1" in html and "<svg" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")

    api.accept(out / "results.json", base)
    # Judging the accepted run against itself is exactly "nothing changed": pass.
    same = api.load_results(out / "results.json")
    api.judge(same, api.BaselineStore(base))
    assert same.cases[0].verdict["status"] == "pass"

    # A delay far above CPU noise (the model takes well under 1 ms) must be a regression.
    slow = api.run([tiny_scenario], out_dir=out, baselines=base, inject=["*=20ms"])
    assert slow.exit_code == 1
    v = slow.run.cases[0].verdict
    assert v["status"] == "regression" and v["change"] > 1.0 and "tolerance" in v["reason"]


def test_failing_case_does_not_sink_the_matrix(write_toml, tmp_path):
    import shutil

    from harness.models.zoo import zoo_model

    # the zoo's transformer as a user file: no zoo default shapes, so 'seq' is unresolved
    shutil.copy(zoo_model("transformer"), tmp_path / "user.onnx")
    path = write_toml("""
        name = "mixed"
        [defaults]
        warmup = { min_time = "10ms", max_time = "100ms" }
        stop = { rel_ci = "20%", min_samples = 5, min_time = "10ms", max_time = "100ms" }
        [[model]]
        id = "broken"
        source = "missing.onnx"
        [[model]]
        id = "needs-seq"
        source = "user.onnx"
        [[model]]
        id = "ok"
        source = "zoo:transformer"
        precisions = ["fp32", "fp16"]
        shapes = "input_ids:1x8"
    """)
    outcome = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    status = {c.id: c.status for c in outcome.run.cases}
    assert status == {"mixed/broken/onnxruntime/fp32/b1": "failed",
                      "mixed/needs-seq/onnxruntime/fp32/b1": "failed",
                      "mixed/ok/onnxruntime/fp32/b1": "ok",
                      "mixed/ok/onnxruntime/fp16/b1": "skipped"}
    errors = {c.id: c.error for c in outcome.run.cases}
    assert "not found" in errors["mixed/broken/onnxruntime/fp32/b1"]
    assert "input_ids" in errors["mixed/needs-seq/onnxruntime/fp32/b1"]
    assert "fp32 models only" in errors["mixed/ok/onnxruntime/fp16/b1"]
    assert outcome.exit_code == 1      # broken cases fail the run by default


def test_cli_exit_codes(write_toml, tiny_scenario, tmp_path, capsys):
    bad = write_toml('name = "x"\n[[model]]\nid = "m"\nsourc = "zoo:resnet"\n', "bad.toml")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml:4" in err and "model[0].sourc" in err and "unknown key" in err
    assert main(["run", str(bad), "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "results.json").exists()       # nothing ran
    assert main(["validate", str(tiny_scenario)]) == 0
    assert main(["list", str(tiny_scenario)]) == 0
    assert "tiny/transformer/onnxruntime/fp32/b1" in capsys.readouterr().out


def test_bench_one_shot(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "zoo:transformer", "--shapes", "input_ids:2x16", "--duration", "0.2s",
                 "--warmup", "20ms", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    [case] = data["cases"]
    assert case["status"] == "ok" and case["shapes"] == {"input_ids": [2, 16]}
    assert case["case"]["batch"] == 2
    # a dynamic dimension without a shape (user file: no zoo defaults): a clear error
    import shutil

    from harness.models.zoo import zoo_model

    shutil.copy(zoo_model("transformer"), tmp_path / "t.onnx")
    assert main(["bench", str(tmp_path / "t.onnx"), "--duration", "0.1s"]) == 1
    assert "input_ids" in capsys.readouterr().err


def test_static_leading_dim_counts_as_batch(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [10, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [10, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "static10.onnx")
    out = tmp_path / "r.json"
    assert main(["bench", str(tmp_path / "static10.onnx"), "--duration", "0.1s",
                 "--warmup", "10ms", "--json", str(out)]) == 0
    case = json.loads(out.read_text())["cases"][0]
    assert case["case"]["batch"] == 10
    assert case["throughput"] == __import__("pytest").approx(10 / (case["stats_ms"]["median"] / 1e3))
