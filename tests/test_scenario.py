from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.scenario import expand, load_scenario, parse_shapes
from harness.scenario.shapes import Profile

GOOD = """
name = "det"
[defaults]
backends = ["onnxruntime", "tensorrt"]
precisions = ["fp32", "fp16"]
batch = [1, 4]
stop = { rel_ci = "1%", max_time = "2s" }

[[model]]
id = "yunet"
source = "zoo:yunet"
shapes = "input:{batch}x3x240x320"

[[model]]
id = "yolo"
source = "zoo:yolo-8400"
batch = [2]
shapes = { min = "images:1x3x640x640", opt = "images:{batch}x3x640x640", max = "images:8x3x640x640" }

[[case]]
match = "det/yolo/*"
stop = { max_time = "5s" }
"""


def test_expansion_ids_and_overrides(write_toml):
    cases = expand(load_scenario(write_toml(GOOD)))
    ids = [c.id for c in cases]
    assert ids[:4] == ["det/yunet/onnxruntime/fp32/b1", "det/yunet/onnxruntime/fp32/b4",
                       "det/yunet/onnxruntime/fp16/b1", "det/yunet/onnxruntime/fp16/b4"]
    assert len(ids) == 2 * 2 * 2 + 2 * 2 * 1 and len(set(ids)) == len(ids)
    yolo = [c for c in cases if c.model == "yolo"]
    assert {c.batch for c in yolo} == {2}
    assert yolo[0].profile.opt == {"images": (2, 3, 640, 640)} and yolo[0].profile.is_dynamic
    # the [[case]] override changes max_time but keeps the scenario's rel_ci
    assert yolo[0].stop.max_time == 5.0 and yolo[0].stop.rel_ci == 0.01
    yunet = cases[1]
    assert yunet.stop.max_time == 2.0 and yunet.profile.run == {"input": (4, 3, 240, 320)}


def test_expansion_is_stable(write_toml):
    path = write_toml(GOOD)
    assert [c.id for c in expand(load_scenario(path))] == [c.id for c in
                                                           expand(load_scenario(path))]


def test_shape_axis_gets_labels(write_toml):
    path = write_toml("""
        name = "dyn"
        [[model]]
        id = "m"
        source = "zoo:transformer"
        shapes = ["input_ids:{batch}x128", "input_ids:{batch}x256"]
    """)
    assert [c.id for c in expand(load_scenario(path))] == ["dyn/m/onnxruntime/fp32/b1/128",
                                                           "dyn/m/onnxruntime/fp32/b1/256"]


@pytest.mark.parametrize(("text", "key", "line", "words"), [
    ('name = "x"\n[defaults]\nbatchs = [1]\n[[model]]\nid="m"\nsource="zoo:resnet"\n',
     "defaults.batchs", 3, "unknown key"),
    ('name = "x"\n[[model]]\nid = "m"\n', "model[0].source", 2, "required"),
    ('name = "x"\n[defaults]\nbatch = [0]\n[[model]]\nid="m"\nsource="zoo:resnet"\n',
     "defaults.batch[0]", 3, "greater than or equal to 1"),
    ('name = "x"\n[defaults]\nwarmup = { min_time = "fast" }\n[[model]]\nid="m"\n'
     'source="zoo:resnet"\n', "defaults.warmup.min_time", 3, "not a duration"),
    ('name = "x"\n[[model]]\nid="m"\nsource="zoo:resnet"\n[[model]]\nid="n"\n'
     'source="zoo:resnet"\nshapes = "input:1xAx3"\n', "model[1].shapes", 8, "integers"),
    ('name = "x"\n[defaults]\nbackends = ["tensorrt", "openvino"]\n[[model]]\nid="m"\n'
     'source="zoo:resnet"\n', "defaults.backends", 3, "unknown backend"),
    ('name = "has space"\n[[model]]\nid="m"\nsource="zoo:resnet"\n', "name", 1, "letters"),
])
def test_schema_errors_name_file_key_line(write_toml, text, key, line, words):
    path = write_toml(text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg and f"key '{key}'" in msg and words in msg
    assert f"{path}:{line}:" in msg


def test_toml_syntax_error_has_line(write_toml):
    path = write_toml('name = "x"\n[[model]\nid = "m"\n')
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.line == 2 and "not valid TOML" in str(info.value)


def test_profile_order_error_names_file(write_toml):
    path = write_toml("""
        name = "p"
        [defaults]
        batch = [16]
        [[model]]
        id = "m"
        source = "zoo:yolo-8400"
        shapes = { min = "images:1x3x640x640", opt = "images:{batch}x3x640x640", max = "images:8x3x640x640" }
    """)
    with pytest.raises(ConfigError) as info:
        expand(load_scenario(path), str(path))
    assert str(path) in str(info.value) and "min <= opt <= max" in str(info.value)


def test_parse_shapes_trtexec_syntax():
    assert parse_shapes("input:4x3x224x224,mask:4x128") == {"input": (4, 3, 224, 224),
                                                           "mask": (4, 128)}
    assert parse_shapes("'a:b':2x3") == {"a:b": (2, 3)}
    assert parse_shapes("x:{batch}x10", batch=8) == {"x": (8, 10)}
    for bad in ("input", "input:4xx3", "a:1,a:2", "x:0x3", "x:{seq}x3"):
        with pytest.raises(ValueError):
            parse_shapes(bad)


def test_profile_run_shape_must_be_inside():
    with pytest.raises(ValueError, match="outside"):
        Profile(min={"x": (1, 3)}, opt={"x": (2, 3)}, max={"x": (4, 3)}, run={"x": (8, 3)})
    p = Profile(min={"x": (1, 3)}, opt={"x": (2, 3)}, max={"x": (4, 3)})
    assert p.run == {"x": (2, 3)} and Profile.from_json(p.to_json()) == p
