"""One rule for the files and step modules a scenario names: relative to the scenario file's
folder, else absolute; ``validate`` reports a missing one with its file, key and path."""

from __future__ import annotations

import numpy as np
import pytest

from harness import api, cli
from harness.errors import ConfigError

SCENARIO = """
name = "paths"
[defaults]
backends = ["onnxruntime"]
warmup = {{ min_time = "0s", max_time = "20ms" }}
stop = {{ min_samples = 5, max_samples = 5, min_time = "0s", max_time = "1s" }}
[[model]]
id = "t"
source = "zoo:transformer"
shapes = "input_ids:1x16"
{extra}
"""


def _write(folder, extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(SCENARIO.format(extra=extra))
    return path


def test_relative_files_are_read_from_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "scen"
    (folder / "data").mkdir(parents=True)
    np.save(folder / "data" / "ids.npy", np.ones((1, 16), dtype=np.int64))
    np.savez(folder / "data" / "calib.npz", input_ids=np.ones((4, 16), dtype=np.int64))
    path = _write(folder, 'inputs = "data/ids.npy"\n'
                          'options = { tensorrt = { calibration = "data/calib.npz" } }')
    monkeypatch.chdir(tmp_path)        # elsewhere: the scenario's folder still decides
    [case] = api.list_cases([path])
    assert case.inputs == str(folder / "data" / "ids.npy")
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    assert out.run.cases[0].status == "ok", out.run.cases[0].error


def test_tensorrt_calibration_and_plugins_are_made_absolute(tmp_path):
    folder = tmp_path / "scen"
    folder.mkdir()
    np.savez(folder / "calib.npz", input_ids=np.ones((4, 16), dtype=np.int64))
    (folder / "libx.so").write_bytes(b"")
    path = _write(folder, 'options = { tensorrt = { calibration = "calib.npz", '
                          'plugins = ["libx.so"] } }')
    text = path.read_text().replace('backends = ["onnxruntime"]', 'backends = ["tensorrt"]')
    path.write_text(text)
    [case] = api.list_cases([path])
    assert case.options["calibration"] == str(folder / "calib.npz")
    assert case.options["plugins"] == [str(folder / "libx.so")]


@pytest.mark.parametrize(("extra", "key", "missing"), [
    ('inputs = "nope.npy"', "model[0].inputs", "nope.npy"),
    ('options = { tensorrt = { calibration = "cal/x.npz" } }',
     "model[0].options.tensorrt.calibration", "cal/x.npz"),
    ('options = { tensorrt = { plugins = ["libnope.so"] } }',
     "model[0].options.tensorrt.plugins[0]", "libnope.so"),
])
def test_validate_names_file_key_and_path(tmp_path, capsys, extra, key, missing):
    path = _write(tmp_path / "scen", extra)
    with pytest.raises(ConfigError) as info:
        api.list_cases([path])
    text = str(info.value)
    assert str(path) in text and key in text
    assert str(tmp_path / "scen" / missing) in text and "file not found" in text
    assert cli.main(["validate", str(path)]) != 0
    err = capsys.readouterr().err
    assert key in err


def test_step_module_from_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "mysteps_paths.py").write_text(
        "def post(outputs):\n    return {'n': len(outputs)}\n")
    path = _write(folder, 'post = "mysteps_paths:post"')
    monkeypatch.chdir(tmp_path)
    [case] = api.list_cases([path])
    from harness.pipeline.stages import load_step

    fn = load_step(case.post, "post", str(folder))
    assert fn({"a": 1}) == {"n": 1}
    bad = _write(tmp_path / "other", 'post = "no_such_module_xyz:post"')
    with pytest.raises(ConfigError, match=r"model\[0\]\.post\.step.*no_such_module_xyz"):
        api.list_cases([bad])
