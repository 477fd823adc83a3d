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


def test_optional_capabilities_are_declared_with_no_op_defaults():
    """Callers never probe an engine: the base declares every optional hook, off."""
    eng = CountingEngine()
    assert not (eng.supports_cuda_graph or eng.enqueues_copies or eng.rotates_inputs)
    eng.enqueue_h2d()
    eng.enqueue_d2h()
    eng.select_input_set(0)
    eng.on_measure_start()
    eng.synchronize()           # no stream: nothing to wait for
    assert eng.prepare_input_sets(1 << 20) == 0 and eng.reference_timing() is None


def test_engines_that_implement_a_capability_declare_it():
    import importlib

    from harness.backends import base

    flags = {"enqueues_copies": ("enqueue_h2d", "enqueue_d2h"),
             "rotates_inputs": ("prepare_input_sets", "select_input_set")}
    engines = []
    for module in ("harness.backends.onnxruntime", "harness.backends.torch",
                   "harness.backends.calibration", "harness.backends.tensorrt.runtime"):
        mod = importlib.import_module(module)
        engines += [v for v in vars(mod).values() if isinstance(v, type)
                    and issubclass(v, base.Engine) and v is not base.Engine]
    assert len(engines) >= 4
    for cls in engines:
        for flag, hooks in flags.items():
            overridden = [h for h in hooks if getattr(cls, h) is not getattr(base.Engine, h)]
            assert overridden in ([], list(hooks)), (cls, flag)
            assert getattr(cls, flag) == bool(overridden), (cls, flag)


@pytest.mark.parametrize(("backend", "precision", "reason"), [
    ("onnxruntime", "fp16", "onnxruntime runs fp32 models only; precision 'fp16' needs another"),
    ("torch", "fp8", "torch runs fp32, tf32, fp16, bf16 models only; precision 'fp8' needs "
                     "TensorRT"),
    ("calibration", "int8", "calibration kernels have no precision"),
])
def test_the_base_refuses_a_precision_the_backend_does_not_declare(backend, precision, reason):
    from types import SimpleNamespace

    from harness.backends import backend_class
    from harness.errors import CaseSkipped

    cls = backend_class(backend)
    cls.check_case(SimpleNamespace(precision="fp32"))
    with pytest.raises(CaseSkipped, match=reason.replace("(", r"\(")):
        cls.check_case(SimpleNamespace(precision=precision))
