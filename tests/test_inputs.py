from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from harness.errors import ConfigError
from harness.inputs import load_inputs, random_inputs, resolve_run_shapes, value_ranges_from_model
from harness.tensors import TensorSpec


def test_every_dtype_gets_valid_nonzero_values():
    specs = [TensorSpec(n, d, (2, 8)) for n, d in [("f", "float32"), ("h", "float16"),
                                                    ("i", "int32"), ("l", "int64"),
                                                    ("b", "bool"), ("u", "uint8")]]
    feed = random_inputs(specs, {s.name: (2, 8) for s in specs}, seed=3)
    for s in specs:
        arr = feed[s.name]
        assert arr.dtype == np.dtype(s.dtype) and arr.shape == (2, 8)
        assert arr.any(), f"{s.name} is all zeros"
    assert feed["b"].any() and not feed["b"].all()
    again = random_inputs(specs, {s.name: (2, 8) for s in specs}, seed=3)
    assert all(np.array_equal(feed[k], again[k]) for k in feed)


def test_ranges_respected():
    spec = [TensorSpec("ids", "int64", (1, 500))]
    feed = random_inputs(spec, {"ids": (1, 500)}, seed=0, ranges={"ids": (0, 9)})
    assert feed["ids"].min() >= 0 and feed["ids"].max() <= 9


def test_dynamic_dims_error_names_input():
    specs = [TensorSpec("input_ids", "int64", ("batch", "seq"))]
    assert resolve_run_shapes(specs, {"input_ids": (2, 7)}, 1) == {"input_ids": (2, 7)}
    with pytest.raises(ConfigError) as info:
        resolve_run_shapes(specs, None, 4)
    msg = str(info.value)
    assert "input_ids" in msg and "1 (seq)" in msg and "--shapes" in msg
    # a dynamic first dim alone is the batch
    assert resolve_run_shapes([TensorSpec("x", "float32", ("N", 3))], None, 4) == {"x": (4, 3)}
    with pytest.raises(ConfigError, match="does not have"):
        resolve_run_shapes(specs, {"nope": (1,)}, 1)


def test_gather_indices_range_from_graph(tmp_path):
    table = helper.make_tensor("table", TensorProto.FLOAT, [37, 4], np.ones(148).tolist())
    node = helper.make_node("Gather", ["table", "ids"], ["out"], axis=0)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("ids", TensorProto.INT64,
                                                                      ["n"])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 4])],
                          [table])
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(g), path)
    assert value_ranges_from_model(str(path)) == {"ids": (0, 36)}


def test_load_inputs_npz_and_npy(tmp_path):
    specs = [TensorSpec("a", "float32", (1, 3)), TensorSpec("b", "int64", (1,))]
    np.savez(tmp_path / "x.npz", a=np.ones((1, 3)), b=np.array([3], dtype=np.int32))
    feed = load_inputs(tmp_path / "x.npz", specs)
    assert feed["a"].dtype == np.float32 and feed["b"].dtype == np.int64
    np.save(tmp_path / "y.npy", np.ones((1, 3), np.float32))
    with pytest.raises(ConfigError, match="one input"):
        load_inputs(tmp_path / "y.npy", specs)
    assert load_inputs(tmp_path / "y.npy", specs[:1])["a"].shape == (1, 3)
    with pytest.raises(ConfigError, match="do not match"):
        load_inputs(tmp_path / "x.npz", specs[:1])
