"""The engine lifecycle rules that every backend inherits (harness/backends/base.py)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.backends.base import Engine, InputMismatch, TensorSpec


class CountingEngine(Engine):
    """A minimal engine that records which lifecycle parts ran."""

    def __init__(self) -> None:
        super().__init__()
        self.binds, self.updates, self.value = 0, 0, None

    @property
    def inputs(self):
        return [TensorSpec("x", "float32", ("n", 4))]

    @property
    def outputs(self):
        return [TensorSpec("y", "float32", ("n", 4))]

    def bind_impl(self, feed):
        self.binds += 1
        self.value = feed["x"].copy()

    def update_inputs_impl(self, feed):
        self.updates += 1
        self.value[...] = feed["x"]

    def run_impl(self):
        pass

    def fetch_outputs_impl(self):
        return {"y": self.value * 2}


def test_update_inputs_reuses_the_binding():
    with CountingEngine() as eng:
        eng.bind({"x": np.zeros((2, 4), np.float32)})
        eng.update_inputs({"x": np.ones((2, 4), np.float32)})
        assert (eng.binds, eng.updates) == (1, 1)
        assert eng.fetch_outputs()["y"].sum() == 16
        # a new shape is a new binding (buffers, shapes, graphs), checked like bind
        eng.update_inputs({"x": np.ones((3, 4), np.float32)})
        assert (eng.binds, eng.updates) == (2, 1)
        with pytest.raises(InputMismatch):
            eng.update_inputs({"x": np.ones((3, 4), np.float64)})


def test_update_inputs_before_bind_binds():
    with CountingEngine() as eng:
        eng.update_inputs({"x": np.ones((1, 4), np.float32)})
        assert (eng.binds, eng.updates) == (1, 0)


def test_onnxruntime_update_inputs_changes_outputs():
    from harness.backends.onnxruntime import OnnxRuntimeBackend
    from harness.models.zoo import zoo_model
    from harness.scenario.expand import Case

    case = Case(id="t", scenario="t", model="m", source="zoo:resnet", backend="onnxruntime",
                precision="fp32", batch=1, profile=None)
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32) for _ in range(2))
    with OnnxRuntimeBackend().prepare(case, str(zoo_model("resnet"))) as eng:
        eng.bind({"input": a})
        eng.run()
        out_a = eng.fetch_outputs()["logits"].copy()
        eng.update_inputs({"input": b})
        eng.run()
        out_b = eng.fetch_outputs()["logits"]
    assert not np.allclose(out_a, out_b)
