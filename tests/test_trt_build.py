"""Real engine builds through TensorRT-RTX on the CPU (target compute capability, no GPU):
parsing, profiles, strongly typed precision via the ONNX transforms, engine-cache keys,
corruption, concurrency, and clear errors. CI installs TensorRT-RTX, so there these tests
must run: a missing TensorRT-RTX fails them under CI and skips them only locally."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from harness import api
from harness.backends.tensorrt.errors import ParseError, PluginError
from harness.errors import ConfigError
from harness.models.zoo import zoo_model
from harness.scenario.shapes import Profile


def _rtx():
    try:
        import tensorrt_rtx_bindings as trt
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("TensorRT-RTX must be installed in CI (nox -s tests installs it)")
        pytest.skip("TensorRT-RTX not installed: pip install trt-harness[tensorrt-rtx]")
    return trt


@pytest.fixture
def rtx(monkeypatch):
    trt = _rtx()
    monkeypatch.setenv("TRT_HARNESS_TENSORRT", "tensorrt_rtx_bindings")
    from harness.backends.tensorrt import shim

    shim.load.cache_clear()
    yield trt
    shim.load.cache_clear()


def make_case(**kw):
    from harness.scenario.expand import Case

    base = dict(id="t/resnet/tensorrt/fp32/b1", scenario="t", model="resnet",
                source="zoo:resnet", backend="tensorrt", precision="fp32", batch=1,
                profile=Profile(min={"input": (1, 3, 224, 224)}, opt={"input": (1, 3, 224, 224)},
                                max={"input": (4, 3, 224, 224)}),
                options={"target": "sm89"})
    base.update(kw)
    return Case(**base)


def backend(tmp_path):
    from harness.backends.tensorrt import TensorRTBackend

    return TensorRTBackend(gpu=None, cache_root=tmp_path / "trt")


def test_zoo_builds_fp32_fp16_and_second_run_hits_the_cache(rtx, tmp_path, monkeypatch):
    monkeypatch.setenv("TRT_HARNESS_CACHE", str(tmp_path / "cache"))
    scenario = os.path.join(os.path.dirname(__file__), "..", "scenarios", "trt-build.toml")
    first = api.run([scenario], out_dir=tmp_path / "r1", baselines=tmp_path / "b")
    cases = first.run.cases
    assert {c.case["model"] for c in cases} == {"resnet", "yunet", "yolo", "transformer"}
    assert {c.precision for c in cases} >= {"fp32", "fp16"}
    for c in cases:
        assert c.status == "ok", (c.id, c.error)
        b = c.build
        assert b["engine_bytes"] > 100_000 and b["build_time_s"] > 0 and b["cache_hit"] is False
        assert b["layer_count"] > 10 and len(b["fingerprint"]) == 16 and c.layers
        assert c.timing["build_only"] is True
        assert any("target sm89" in n for n in b["notes"])
    fp16 = {c.case["model"]: c for c in cases if c.precision == "fp16"}
    assert any(ly["precision"] == "float16" for ly in fp16["resnet"].layers)
    second = api.run([scenario], out_dir=tmp_path / "r2", baselines=tmp_path / "b")
    assert all(c.build["cache_hit"] for c in second.run.cases)
    assert [c.build["engine_bytes"] for c in second.run.cases] == \
        [c.build["engine_bytes"] for c in cases]


def test_key_changes_force_a_rebuild(rtx, tmp_path):
    be, path = backend(tmp_path), str(zoo_model("resnet"))
    assert be.prepare(make_case(), path).build.cache_hit is False
    assert be.prepare(make_case(), path).build.cache_hit is True
    for changed in (make_case(precision="fp16"),
                    make_case(options={"target": "sm86"}),
                    make_case(options={"target": "sm89", "builder_optimization_level": 2}),
                    make_case(options={"target": "sm89", "workspace": "256MiB"}),
                    make_case(profile=Profile.static({"input": (2, 3, 224, 224)})),
                    make_case(model="other", source=str(zoo_model("resnet", seed=1)))):
        source = changed.source if changed.source.endswith(".onnx") else path
        assert be.prepare(changed, source).build.cache_hit is False, changed
    assert len(list((tmp_path / "trt" / "engines").glob("*.engine"))) == 7


def test_corrupt_cache_entries_are_detected_and_rebuilt(rtx, tmp_path):
    be, path = backend(tmp_path), str(zoo_model("resnet"))
    first = be.prepare(make_case(), path)
    [engine_file] = (tmp_path / "trt" / "engines").glob("*.engine")
    good = engine_file.read_bytes()
    engine_file.write_bytes(good[: len(good) // 2])                # truncated
    again = be.prepare(make_case(), path)
    assert again.build.cache_hit is False
    assert any("does not match its recorded SHA-256" in n for n in again.build.notes)
    # A damaged engine whose record was rewritten to match: TensorRT-RTX's header check.
    import hashlib

    bad = b"\0" * 64 + good[64:]
    engine_file.write_bytes(bad)
    record_file = engine_file.with_suffix(".json")
    record = json.loads(record_file.read_text())
    record["sha256"] = hashlib.sha256(bad).hexdigest()
    record_file.write_text(json.dumps(record))
    third = be.prepare(make_case(), path)
    assert third.build.cache_hit is False
    assert any("malformed engine header" in n for n in third.build.notes)
    assert engine_file.read_bytes() != bad and first.build.engine_bytes == third.build.engine_bytes


def _build_in_process(cache_root: str, queue) -> None:
    os.environ["TRT_HARNESS_TENSORRT"] = "tensorrt_rtx_bindings"
    from harness.backends.tensorrt import TensorRTBackend

    engine = TensorRTBackend(gpu=None, cache_root=cache_root).prepare(
        make_case(), str(zoo_model("resnet")))
    queue.put(engine.build.cache_hit)


def test_concurrent_builds_of_one_key_do_not_corrupt_the_cache(rtx, tmp_path):
    zoo_model("resnet")           # generate the model before the processes race
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_process, args=(str(tmp_path / "trt"), queue))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    hits = sorted(queue.get(timeout=5) for _ in procs)
    assert hits == [False, True, True]       # built once, then found by the others
    assert be_entry_ok(tmp_path)


def be_entry_ok(tmp_path) -> bool:
    import hashlib

    [engine_file] = (tmp_path / "trt" / "engines").glob("*.engine")
    record = json.loads(engine_file.with_suffix(".json").read_text())
    return record["sha256"] == hashlib.sha256(engine_file.read_bytes()).hexdigest()


def test_int8_and_fp8_via_qdq_and_bf16(rtx, tmp_path):
    be, path = backend(tmp_path), str(zoo_model("resnet"))
    for precision in ("bf16", "int8", "fp8"):
        engine = be.prepare(make_case(precision=precision), path)
        assert engine.build.engine_bytes > 100_000
        kinds = {ly["type"] for ly in engine.build.layers}
        assert ("QUANTIZE" in kinds) is (precision in ("int8", "fp8")), (precision, kinds)
        # without calibration data: a warning on the case, not only a build note
        random = [w for w in engine.build.warnings if "scales from random data" in w]
        assert bool(random) is (precision in ("int8", "fp8")), engine.build.warnings


def test_several_profiles(rtx, tmp_path):
    be = backend(tmp_path)
    case = make_case(model="yolo", source="zoo:yolo-8400", profile=None,
                     options={"target": "sm89",
                              "profiles": [{"min": "images:1x3x640x640",
                                            "opt": "images:4x3x640x640",
                                            "max": "images:8x3x640x640"}]})
    engine = be.prepare(case, str(zoo_model("yolo-8400")))
    assert engine.build.engine_bytes > 100_000 and engine.build.cache_hit is False


def test_nms_surgery(rtx, tmp_path):
    import onnx

    from harness.backends.tensorrt import plugins as plug
    from harness.backends.tensorrt.options import NmsOptions
    from harness.backends.tensorrt.plugins import add_nms

    model = onnx.load(str(zoo_model("yolo-8400")))
    opts = NmsOptions(boxes="output0", scores="output0", transpose=True, max_detections=50)
    plugin = add_nms(model, opts, use_plugin=True)
    assert [o.name for o in plugin.graph.output] == [
        "num_detections", "detection_boxes", "detection_scores", "detection_classes"]
    nms = plugin.graph.node[-1]
    assert nms.op_type == "EfficientNMS_TRT" and len(nms.input) == 2
    onnx.checker.check_model(add_nms(model, opts, use_plugin=False))
    # TensorRT-RTX has neither EfficientNMS nor an NMS kernel: the case is skipped with the
    # reason, before a build that would fail.
    from harness.errors import CaseSkipped

    assert not plug.has_creator(rtx, plug.EFFICIENT_NMS)
    case = make_case(model="yolo", source="zoo:yolo-8400", profile=None,
                     options={"target": "sm89", "nms": opts.model_dump()})
    with pytest.raises(CaseSkipped, match=r"NMS inside the engine does not build on "
                                          r"tensorrt-rtx .* for sm89: .*INMSLayer"):
        backend(tmp_path).prepare(case, str(zoo_model("yolo-8400")))


def test_yunet_nms_scenario_skips_the_tensorrt_rung_with_the_reason(rtx, tmp_path, monkeypatch):
    """The study's in-graph NMS model on TensorRT-RTX: skipped with the reason (the INMSLayer
    itself has no runner there, whether it comes from the parser or the network API)."""
    import numpy as np

    from harness.backends.tensorrt.build import set_target_rtx
    from harness.errors import CaseSkipped

    case = make_case(model="graph-nms", source="zoo:yunet-nms",
                     profile=Profile.static({"input": (1, 3, 240, 320)}))
    with pytest.raises(CaseSkipped, match="INMSLayer"):
        backend(tmp_path).prepare(case, str(zoo_model("yunet-nms")))
    logger = rtx.Logger(rtx.Logger.ERROR)
    builder = rtx.Builder(logger)
    net = builder.create_network(0)
    boxes = net.add_input("boxes", rtx.float32, (1, 100, 4))
    scores = net.add_input("scores", rtx.float32, (1, 100, 1))
    k = net.add_constant((), rtx.Weights(np.array(10, dtype=np.int32))).get_output(0)
    net.mark_output(net.add_nms(boxes, scores, k).get_output(0))
    config = builder.create_builder_config()
    set_target_rtx(rtx, config, "sm89")
    # A canary: the day TensorRT-RTX builds an NMS layer, drop rtx_nms_refusal.
    assert builder.build_serialized_network(net, config) is None


def test_clear_errors(rtx, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    be = backend(tmp_path)
    node = helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    bad = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), bad)
    with pytest.raises(ParseError, match=r"node 0 \('mystery'\) op NoSuchOp: .*unsupported op"):
        be.prepare(make_case(source=str(bad), profile=Profile.static({"x": (1, 4)})), str(bad))
    with pytest.raises(ConfigError, match=r"outside what the model allows"):
        be.prepare(make_case(profile=Profile.static({"input": (1, 3, 200, 224)})),
                   str(zoo_model("resnet")))
    with pytest.raises(PluginError, match=r"plugin library 'libnope\.so' not found"):
        be.prepare(make_case(options={"target": "sm89", "plugins": ["libnope.so"]}),
                   str(zoo_model("resnet")))
    with pytest.raises(ConfigError, match="unknown target"):
        be.prepare(make_case(options={"target": "sm90"}), str(zoo_model("resnet")))


def test_tensorrt_missing_says_how_to_install(monkeypatch):
    from harness.backends.tensorrt import TensorRTBackend, shim

    monkeypatch.setenv("TRT_HARNESS_TENSORRT", "no_such_tensorrt_module")
    shim.load.cache_clear()
    try:
        reason = TensorRTBackend.unavailable_reason()
    finally:
        shim.load.cache_clear()
    assert reason and "install trt-harness[tensorrt]" in reason and "tensorrt-rtx" in reason


def test_tf32_on_a_strongly_typed_flavour_is_refused_not_built_twice(rtx, tmp_path):
    from harness.errors import CaseSkipped

    be = backend(tmp_path)
    with pytest.raises(CaseSkipped, match=r"tf32 on tensorrt-rtx .*strongly typed.*fp32 rung"):
        be.prepare(make_case(precision="tf32"), str(zoo_model("resnet")))
    assert not (tmp_path / "trt" / "engines").exists() or not any(
        (tmp_path / "trt" / "engines").rglob("*.engine"))


def test_precision_mix_explains_an_int8_engine(rtx, tmp_path):
    from harness.report.layers import precision_mix

    be, path = backend(tmp_path), str(zoo_model("resnet"))
    fp32 = precision_mix(be.prepare(make_case(precision="fp32"), path).build.layers)
    int8 = precision_mix(be.prepare(make_case(precision="int8"), path).build.layers)
    assert fp32["qdq_pairs"] == 0 and dict(fp32["by_precision"]).get("fp32")
    assert int8["qdq_pairs"] > 10 and dict(int8["by_precision"]).get("int8")
    assert f"{int8['qdq_pairs']} Q/DQ pairs" in int8["text"]
