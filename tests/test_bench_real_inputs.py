"""One-shot bench on models shaped like real third-party ones (Silero VAD's int64 sample-rate
scalar beside recurrent state, dynamic non-batch dims): value ranges, hints, error messages."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness import api
from harness.errors import ConfigError
from harness.inputs import parse_input_ranges


def _vad_like(path):
    """x: N x T audio, state: 2 x N x 8, sr: int64 scalar that must be 16000 or 8000 (it
    indexes a 2-row table after subtracting 15999: any other value is out of bounds)."""
    table = numpy_helper.from_array(np.ones((2, 8), np.float32), "table")
    off = numpy_helper.from_array(np.asarray(15999, np.int64), "off")
    nodes = [
        helper.make_node("Sub", ["sr", "off"], ["idx"]),
        helper.make_node("Gather", ["table", "idx"], ["row"], axis=0),
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Add", ["state", "row"], ["s1"]),
        helper.make_node("Mul", ["s1", "m"], ["stateN"]),
    ]
    graph = helper.make_graph(nodes, "vad", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "samples"]),
        helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", 8]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, []),
    ], [helper.make_tensor_value_info("stateN", TensorProto.FLOAT, None)], [table, off])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def _bench(model, **kw):
    case = api.bench_case(model, backend="onnxruntime", warmup="10ms", duration="100ms", **kw)
    return api.bench(case).cases[0]


def test_dynamic_dims_error_names_only_the_inputs_that_need_shapes(tmp_path):
    c = _bench(_vad_like(tmp_path / "vad.onnx"))
    assert c.status == "failed"
    assert "input 'x'" in c.error and "1 (samples)" in c.error
    # state's "batch" is x's: only the unknown "samples" needs a shape.
    assert "--shapes x:1x16 " in c.error and "state" not in c.error and "sr:" not in c.error


def test_generated_integer_input_gets_a_hint_and_a_range_fixes_it(tmp_path):
    model = _vad_like(tmp_path / "vad.onnx")
    shapes = "x:1x512"          # state[2, batch, 8] follows from x's batch
    failed = _bench(model, shapes=shapes)
    assert failed.status == "failed"
    assert "['sr']" in failed.error and "--input-range" in failed.error
    ok = _bench(model, shapes=shapes, input_range=parse_input_ranges(["sr=16000"]))
    assert ok.status == "ok" and ok.shapes == {"x": [1, 512], "state": [2, 1, 8], "sr": []}


def test_parse_input_ranges():
    assert parse_input_ranges(["sr=16000", "ids=0..999"]) == {"sr": (16000.0, 16000.0),
                                                              "ids": (0.0, 999.0)}
    for bad in ("sr", "=3", "a=x", "a=5..1"):
        with pytest.raises(ConfigError):
            parse_input_ranges([bad])
