"""The TensorRT run path against the test double (tests/trt_double.py): call order, shapes,
addresses, stream, H2D/D2H, CUDA graph, memory, IProfiler pass, inspector, shape switch, and
TensorRT 10's weakly typed build with the entropy calibrator. Not hardware: see the README."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from trt_double import FakeTensorRT

from harness.backends.tensorrt import TensorRTBackend
from harness.backends.tensorrt.errors import ParseError
from harness.backends.tensorrt.runtime import ShapeOutsideProfile, TrtEngine
from harness.errors import CaseSkipped, ConfigError
from harness.inputs import random_inputs
from harness.models.zoo import zoo_model
from harness.scenario.shapes import Profile

GPU = {"name": "Fake GPU", "compute_capability": "8.9"}
RESNET_NODES = 28     # the double makes one layer per ONNX node


def make_case(**kw):
    from harness.scenario.expand import Case

    base = dict(id="t/resnet/tensorrt/fp32/b2", scenario="t", model="resnet",
                source="zoo:resnet", backend="tensorrt", precision="fp32", batch=2,
                profile=Profile(min={"input": (1, 3, 224, 224)}, opt={"input": (2, 3, 224, 224)},
                                max={"input": (4, 3, 224, 224)}))
    base.update(kw)
    return Case(**base)


@pytest.fixture
def fake(tmp_path):
    trt = FakeTensorRT("10.16.1.11")
    backend = TensorRTBackend(trt=trt, cuda_factory=lambda: trt.cuda, gpu=GPU,
                              cache_root=tmp_path / "trt")
    return trt, backend


def test_run_path_order_shapes_addresses_and_outputs(fake):
    trt, backend = fake
    case = make_case()
    engine = backend.prepare(case, str(zoo_model("resnet")))
    assert isinstance(engine, TrtEngine) and engine.is_async and not engine.build_only
    stream = trt.cuda.new_stream()
    engine.set_stream(stream)
    with engine:
        assert [s.name for s in engine.inputs] == ["input"]
        assert engine.inputs[0].shape == (None, 3, 224, 224)
        feed = random_inputs(engine.inputs, {"input": (2, 3, 224, 224)}, seed=0)
        engine.bind(feed)
        for _ in range(3):
            engine.run()
        out = engine.fetch_outputs()
        # Real numbers through H2D -> (ONNX Runtime in the double) -> D2H: compare with ORT.
        ref = ort.InferenceSession(str(zoo_model("resnet"))).run(None, feed)[0]
        np.testing.assert_allclose(out["logits"], ref, rtol=1e-5, atol=1e-5)
        assert engine.context.enqueues >= 4        # bind's warm enqueue + 3 runs
        assert trt.cuda.calls.count("h2d") >= 1 and trt.cuda.calls[-2:] == ["d2h", "sync"]
        mem = engine.memory()
        assert mem["device_bytes"] == 1 << 20 and mem["context_bytes"] == 1 << 19
        assert mem["engine_bytes"] == engine.build.engine_bytes
        assert mem["io_bytes"] == 2 * 3 * 224 * 224 * 4 + 2 * 100 * 4
    assert not trt.cuda.memory, "device buffers leaked after deactivate"


def test_cuda_graph_and_separate_stages(fake):
    trt, backend = fake
    engine = backend.prepare(make_case(), str(zoo_model("resnet")))
    engine.set_stream(trt.cuda.new_stream())
    with engine:
        engine.bind(random_inputs(engine.inputs, {"input": (2, 3, 224, 224)}, seed=1))
        trt.cuda.calls.clear()
        engine.enqueue_h2d()
        engine.run()
        engine.enqueue_d2h()
        assert trt.cuda.calls == ["h2d", "d2h"]
        before = engine.context.enqueues
        engine.capture_cuda_graph()
        engine.run()
        engine.run()
        assert trt.cuda.calls.count("graph-launch") == 2
        assert engine.context.enqueues == before + 1     # captured once, replayed twice


def test_default_stream_is_refused_by_the_double(fake):
    _trt, backend = fake
    engine = backend.prepare(make_case(), str(zoo_model("resnet")))
    engine.set_stream(0)           # the legacy default stream: never what the harness uses
    with engine, pytest.raises(AssertionError, match="stream"):
        engine.bind(random_inputs(engine.inputs, {"input": (2, 3, 224, 224)}, seed=0))


def test_double_checks_call_order():
    trt = FakeTensorRT()
    from trt_double import _Context, _Engine

    plan = {"onnx": "", "flags": [], "profiles": [{}], "layers": [],
            "inputs": [["x", "FLOAT", [1, 4]]], "outputs": [["y", "FLOAT", [1, 4]]]}
    context = _Context(_Engine(trt, plan))
    stream = trt.cuda.new_stream()
    with pytest.raises(AssertionError, match="no address"):
        context.execute_async_v3(stream.handle)
    with pytest.raises(AssertionError, match="not allocated"):
        context.set_tensor_address("x", 1234)


def test_shape_outside_profile_is_a_clear_error(fake):
    trt, backend = fake
    engine = backend.prepare(make_case(), str(zoo_model("resnet")))
    engine.set_stream(trt.cuda.new_stream())
    with engine:
        feed = random_inputs(engine.inputs, {"input": (8, 3, 224, 224)}, seed=0)
        with pytest.raises(ShapeOutsideProfile, match=r"outside the engine's profile 0.*max"):
            engine.bind(feed)


def test_introspection_profiler_pass_fingerprint_and_shape_switch(fake):
    trt, backend = fake
    engine = backend.prepare(make_case(), str(zoo_model("resnet")))
    engine.set_stream(trt.cuda.new_stream())
    with engine:
        engine.bind(random_inputs(engine.inputs, {"input": (2, 3, 224, 224)}, seed=0))
        timed_context = engine.context
        found = engine.introspect()
        assert timed_context.profiler is None          # the timed context never profiles
        layers = found["layers"]
        assert len(layers) == RESNET_NODES and all(ly["time_ms"] == 0.01 for ly in layers)
        assert layers[0]["tactic"].startswith("fake_tactic")
        assert found["build"]["fingerprint_source"] == "inspector"
        assert len(found["build"]["fingerprint"]) == 16 and "Layers" in found["build"]["inspector"]
        switch = found["build"]["shape_switch"]
        assert switch["from"] == "input:2x3x224x224" and switch["to"] == "input:4x3x224x224"
        assert switch["repeats"] == 10 and "cost_ms" in switch
        # Back at the bound shape afterwards: outputs still the bound batch.
        engine.run()
        assert engine.fetch_outputs()["logits"].shape == (2, 100)


def test_weakly_typed_int8_runs_the_entropy_calibrator(fake):
    trt, backend = fake
    engine = backend.prepare(make_case(precision="int8", options={"calibration_batches": 3}),
                             str(zoo_model("resnet")))
    import json

    plan = json.loads(engine.plan)
    assert "INT8" in plan["flags"] and "TF32" not in plan["flags"]
    assert plan["calibration_batches"] == 3 and not plan["strongly_typed"]
    assert not trt.cuda.memory, "calibration buffers leaked"
    assert any("seeded random data" in n for n in engine.build.notes)


def test_weak_fp16_flag_on_trt10_transform_on_trt11(tmp_path):
    import json

    for version, weak in (("10.16.1.11", True), ("11.4.0.106", False)):
        trt = FakeTensorRT(version)
        backend = TensorRTBackend(trt=trt, cuda_factory=lambda t=trt: t.cuda, gpu=GPU,
                                  cache_root=tmp_path / version)
        engine = backend.prepare(make_case(precision="fp16"), str(zoo_model("resnet")))
        plan = json.loads(engine.plan)
        assert ("FP16" in plan["flags"]) is weak
        assert plan["strongly_typed"] is (not weak)
        assert hasattr(trt.BuilderFlag, "FP16") is weak


def test_trt11_refuses_weak_typing_and_targets(tmp_path):
    trt = FakeTensorRT("11.4.0.106")
    backend = TensorRTBackend(trt=trt, cuda_factory=lambda: trt.cuda, gpu=GPU,
                              cache_root=tmp_path)
    with pytest.raises(ConfigError, match="strongly typed networks only"):
        backend.prepare(make_case(options={"strongly_typed": False}), str(zoo_model("resnet")))
    with pytest.raises(CaseSkipped, match="needs TensorRT-RTX"):
        backend.prepare(make_case(options={"target": "sm89"}), str(zoo_model("resnet")))
    no_gpu = TensorRTBackend(trt=trt, gpu=None, cache_root=tmp_path)
    with pytest.raises(CaseSkipped, match="no NVIDIA GPU"):
        no_gpu.prepare(make_case(), str(zoo_model("resnet")))


def test_timing_cache_is_merged_across_builds(fake, tmp_path):
    import json

    _trt, backend = fake
    backend.prepare(make_case(), str(zoo_model("resnet")))
    backend.prepare(make_case(model="yolo", source="zoo:yolo-8400", profile=None),
                    str(zoo_model("yolo-8400")))
    [path] = (tmp_path / "trt" / "timing").glob("*.cache")
    assert len(json.loads(path.read_bytes())) == 2      # one entry per model, both kept


def test_plugins_initialised_and_libraries_loaded(fake, tmp_path):
    trt, backend = fake
    lib = tmp_path / "libmyplugin.so"
    lib.write_bytes(b"\x7fELF")
    backend.prepare(make_case(options={"plugins": [str(lib)]}), str(zoo_model("resnet")))
    assert trt.plugins_initialised and trt.loaded_libraries == [str(lib)]


def test_parser_errors_name_node_and_op(fake, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    _trt, backend = fake
    node = helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph), path)
    case = make_case(source=str(path), profile=Profile.static({"x": (1, 4)}))
    with pytest.raises(ParseError, match=r"node 0 \('mystery'\) op NoSuchOp: UNSUPPORTED_NODE"):
        backend.prepare(case, str(path))


def test_engine_via_runner_with_the_double(monkeypatch, tmp_path):
    """run_case end to end with the double in place of TensorRT and CUDA."""
    from harness.backends.tensorrt import backend as module
    from harness.runner import run_case

    trt = FakeTensorRT()
    monkeypatch.setenv("TRT_HARNESS_CACHE", str(tmp_path))
    monkeypatch.setattr(module, "load", lambda: trt)
    monkeypatch.setattr(module, "reason_unavailable", lambda: None)
    monkeypatch.setattr(module, "_cuda_ops", lambda: trt.cuda)
    monkeypatch.setattr(TensorRTBackend, "gpu", lambda self: GPU)
    case = make_case(options={"profile_iterations": 2})
    result = run_case(case)
    assert result.status == "ok", result.error
    assert result.build["fingerprint_source"] == "inspector" and result.layers
    assert result.build["layer_count"] == RESNET_NODES and result.build["cache_hit"] is False
    assert result.memory["device_bytes"] == 1 << 20


def test_a_layout_puts_pads_before_the_weights_context_and_bindings(fake):
    """With a layout (the backend's ``randomizes_layout``), the run path holds the layout's
    pads before deserialising and before the execution context and bindings, and frees them
    with the engine; without one nothing extra is allocated. (Against the test double: its
    addresses are sequential, so the order of allocations is what this shows, not any speed
    effect of placement.)"""
    from harness.layout import Layout
    from harness.timing.session import laid_out

    trt, _ = fake
    assert TensorRTBackend.randomizes_layout
    layout = Layout(7)
    backend = laid_out(TensorRTBackend, layout)
    backend._trt, backend._cuda_factory, backend._gpu = trt, (lambda: trt.cuda), GPU
    backend.cache_root = fake[1].cache_root
    engine = backend.prepare(make_case(), str(zoo_model("resnet")))
    engine.set_stream(trt.cuda.new_stream())
    pads = [n for stage in ("weights", "buffers") for n in layout.pads(stage) if n]
    with engine:
        held = sorted(trt.cuda.memory.items())
        assert [len(b) for _, b in held] == pads          # the pads, in stage order
        engine.bind(random_inputs(engine.inputs, {"input": (2, 3, 224, 224)}, seed=0))
        bindings = set(engine._device.values())
        assert min(bindings) > max(p for p, _ in held)    # the bindings come after the pads
    assert not trt.cuda.memory, "pads or buffers leaked after deactivate"
    plain = fake[1].prepare(make_case(), str(zoo_model("resnet")))
    plain.set_stream(trt.cuda.new_stream())
    with plain:
        assert not trt.cuda.memory                        # no layout: nothing held before bind
