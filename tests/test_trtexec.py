"""``trt-harness bench`` with trtexec's spellings: parsed command lines become the case
their author meant, flags without an equivalent are refused with what to use instead."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from harness import api, trtexec
from harness.cli import build_parser, main
from harness.errors import ConfigError


@pytest.fixture(autouse=True)
def model_files(tmp_path, monkeypatch):
    """Model files the lines name (bench checks that they exist; nothing here loads them)."""
    monkeypatch.chdir(tmp_path)
    for name in ("model.onnx", "m.onnx", "a.onnx", "b.onnx"):
        (tmp_path / name).write_bytes(b"")


def case_of(line: str):
    args = build_parser().parse_args(["bench", *shlex.split(line)])
    args.precision_given = args.precision is not None
    args.precision = args.precision or "fp32"
    kwargs, notes = trtexec.bench_kwargs(args)
    return api.bench_case(**kwargs), notes


def test_a_pasted_trtexec_line_becomes_its_case():
    case, notes = case_of(
        "--onnx=model.onnx --minShapes=input:1x3x224x224 --optShapes=input:8x3x224x224 "
        "--maxShapes=input:16x3x224x224 --shapes=input:4x3x224x224 --fp16 --useCudaGraph "
        "--noDataTransfers --useSpinWait --warmUp=500 --duration=10 --iterations=200 "
        "--backend onnxruntime")
    assert case.source == "model.onnx" and case.precision == "fp16" and not notes
    p = case.profile
    assert p.min["input"] == (1, 3, 224, 224) and p.opt["input"] == (8, 3, 224, 224)
    assert p.max["input"] == (16, 3, 224, 224) and p.run["input"] == (4, 3, 224, 224)
    assert case.batch == 4
    assert case.timing.cuda_graph is True and case.timing.transfers is False
    assert case.timing.sync == "spin"
    assert case.warmup.min_time == pytest.approx(0.5)
    # trtexec's --duration=10: at least 10 s; --iterations=200: at least 200 inferences
    assert case.stop.min_time == case.stop.max_time == 10.0
    assert case.stop.min_samples == 200


def test_harness_spellings_keep_their_meaning():
    case, _ = case_of("zoo:resnet --duration 2s --warmup 50ms --backend onnxruntime")
    assert case.stop.max_time == 2.0 and case.stop.min_time < 2.0     # a cap, early stop
    assert case.precision == "fp32" and case.timing.cuda_graph is False


def test_options_and_torch_modes():
    case, _ = case_of("zoo:resnet --backend torch --option mode=graph --option slowdown=0.5")
    assert case.backend == "torch" and case.options == {"mode": "graph", "slowdown": 0.5}
    case, _ = case_of("zoo:resnet --backend torch:graph")
    assert case.backend == "torch" and case.options["mode"] == "graph"
    assert case.id == "bench/zoo-resnet/torch:graph/fp32/b1"
    case, _ = case_of("zoo:resnet --backend tensorrt --option target=sm89 --int8")
    assert case.options == {"target": "sm89"} and case.precision == "int8"
    with pytest.raises(ConfigError, match="torch:eager, torch:graph, torch:compile"):
        case_of("zoo:resnet --backend torch:fast")


def test_several_precision_flags_measure_the_narrowest_with_a_note():
    case, notes = case_of("zoo:resnet --fp16 --int8 --backend onnxruntime")
    assert case.precision == "int8" and "--int8 + --fp16" in notes[0]
    with pytest.raises(ConfigError, match="disagree"):
        case_of("zoo:resnet --precision fp16 --int8")


@pytest.mark.parametrize(("flag", "says"), [
    ("--best", "one precision per case"), ("--saveEngine=m.engine", "TRT_HARNESS_CACHE"),
    ("--avgRuns=10", "median"), ("--workspace=1024", "--option workspace"),
    ("--memPoolSize=workspace:1024", "--option workspace"),
    ("--builderOptimizationLevel=5", "--option builder_optimization_level"),
])
def test_flags_without_an_equivalent_are_refused_clearly(flag, says, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--onnx=m.onnx", flag])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag.split("=")[0] in err and says in err and "no equivalent" in err


def test_profile_flags_go_together_and_one_model():
    with pytest.raises(ConfigError, match="go together"):
        case_of("--onnx=m.onnx --minShapes=x:1x4 --maxShapes=x:8x4")
    with pytest.raises(ConfigError, match="two models"):
        case_of("a.onnx --onnx=b.onnx")
    with pytest.raises(ConfigError, match="no model"):
        case_of("--fp16")


def test_pasted_line_runs_with_raw_inputs_and_exports_times(tmp_path, capsys):
    ids = tmp_path / "ids.bin"
    np.arange(32, dtype=np.int64).reshape(2, 16).tofile(ids)
    times = tmp_path / "times.json"
    out = tmp_path / "r.json"
    code = main(["bench", "--onnx=zoo:transformer", "--shapes=input_ids:2x16", "--warmUp=20",
                 "--duration=0.2", "--iterations=10", f"--loadInputs=input_ids:{ids}",
                 f"--exportTimes={times}", "--backend", "onnxruntime", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    [case] = json.loads(out.read_text())["cases"]
    assert case["status"] == "ok" and case["shapes"] == {"input_ids": [2, 16]}
    assert len(case["samples_ms"]) >= 10 and case["timing"]["measure_s"] >= 0.2
    exported = json.loads(times.read_text())
    assert len(exported) == len(case["samples_ms"])
    assert set(exported[0]) == {"latencyMs", "computeMs"}
    bad = tmp_path / "short.bin"
    np.arange(5, dtype=np.int64).tofile(bad)
    assert main(["bench", "--onnx=zoo:transformer", "--shapes=input_ids:2x16", "--duration=0.1",
                 f"--loadInputs=input_ids:{bad}", "--backend", "onnxruntime"]) == 1
    assert "needs 32" in capsys.readouterr().err
