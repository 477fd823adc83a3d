"""NVTX ranges (names, nesting, categories, payloads) through a recording fake of the
``nvtx`` module, and the Nsight command lines built from them."""

from __future__ import annotations

import contextlib
import shutil
from typing import Any

import pytest

from harness import api, markers


class RecordingNvtxFake:
    """Test double of the ``nvtx`` module: records each range's attributes and the stack
    of open ranges (their messages) at the moment it was opened."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.ranges: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def annotate(self, message=None, color=None, domain=None, category=None, payload=None):
        self.ranges.append({"message": message, "domain": domain, "category": category,
                            "payload": payload, "color": color,
                            "path": "/".join([*self.stack, message])})
        self.stack.append(message)
        try:
            yield
        finally:
            self.stack.pop()

    def mark(self, message=None, domain=None):
        pass

    def paths(self) -> list[str]:
        return [r["path"] for r in self.ranges]


@pytest.fixture()
def nvtx_fake(monkeypatch):
    fake = RecordingNvtxFake()
    monkeypatch.setattr(markers, "_nvtx", lambda: fake)
    return fake


def test_range_carries_category_and_payload(nvtx_fake):
    with markers.case_range("s/m/ort/fp32/b1", 3), markers.nvtx_range("build", payload=8):
        pass
    case, build = nvtx_fake.ranges
    assert case == {"message": "s:m:ort:fp32:b1", "domain": "harness", "category": "case",
                    "payload": 3, "color": "green", "path": "s:m:ort:fp32:b1"}
    assert build["category"] == "build" and build["payload"] == 8
    assert build["path"] == "s:m:ort:fp32:b1/build"


def test_run_nests_scenario_case_and_phases(nvtx_fake, write_toml, tmp_path):
    path = write_toml("""
        name = "two"
        [defaults]
        backends = ["onnxruntime"]
        warmup = { min_time = "0s", max_time = "50ms" }
        stop = { min_samples = 5, max_samples = 5, min_time = "0s", max_time = "1s" }
        [[model]]
        id = "a"
        source = "zoo:transformer"
        shapes = "input_ids:1x16"
        [[model]]
        id = "b"
        source = "zoo:transformer"
        shapes = "input_ids:1x16"
    """, "two.toml")
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b", quick=True)
    ids = [c.id for c in out.run.cases]
    assert len(ids) == 2
    paths = nvtx_fake.paths()
    scen = next(r for r in nvtx_fake.ranges if r["message"] == "scenario two")
    assert scen["category"] == "scenario" and scen["payload"] == 2
    for i, cid in enumerate(ids):
        msg = markers.case_message(cid)
        case = next(r for r in nvtx_fake.ranges if r["message"] == msg)
        assert case["path"] == f"scenario two/{msg}" and case["payload"] == i
        inside = {p.removeprefix(f"scenario two/{msg}/") for p in paths
                  if p.startswith(f"scenario two/{msg}/")}
        assert {"build", "warmup", "measure"} <= inside, inside
    measures = [r for r in nvtx_fake.ranges if r["message"] == "measure"]
    assert measures and all(r["category"] == "measure" for r in measures)


def test_ncu_filters_match_the_nesting():
    assert markers.ncu_filter() == api.NCU_NVTX_FILTER == "harness@measure/"
    assert markers.ncu_filter("s/m/ort/fp32/b1") == "harness@s:m:ort:fp32:b1/*/measure/"
    assert markers.ncu_filter("s/a", "warmup") == "harness@s:a/*/warmup/"
    assert markers.nsys_capture("measure") == "measure@harness"


@pytest.fixture()
def tools(monkeypatch, nvtx_fake, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.chdir(tmp_path)


def test_ncu_command_for_one_case(tools):
    cmd = api.profile_command("ncu", ["scen/two.toml"], "out", ["--case", "two/a*"],
                              case_id="two/a/calibration/fp32/b1", run_id="20260101T000000000000Z")
    assert cmd[:4] == ["/usr/bin/ncu", "--nvtx", "--nvtx-include",
                       "harness@two:a:calibration:fp32:b1/*/measure/"]
    assert cmd[cmd.index("-o") + 1] == "out/two-20260101T000000000000Z"
    assert "TRT_HARNESS_RUN_ID=20260101T000000000000Z" in cmd
    assert cmd[-2:] == ["--case", "two/a*"]


def test_nsys_captures_only_what_is_asked(tools):
    whole = api.profile_command("nsys", ["a.toml", "b.toml"], "out", [], run_id="R")
    assert not any(a.startswith("--capture-range") for a in whole)
    assert whole[whole.index("-o") + 1] == "out/a+b-R"
    cmd = api.profile_command("nsys", ["a.toml"], "out", [], capture="measure", run_id="R")
    assert "--capture-range=nvtx" in cmd and "--nvtx-capture=measure@harness" in cmd
    assert "--capture-range-end=repeat" in cmd
    assert "--env-var=NSYS_NVTX_PROFILER_REGISTER_ONLY=0" in cmd
    one = api.profile_command("nsys", ["a.toml"], "out", [], case_id="a/x", run_id="R")
    assert "--nvtx-capture=a:x@harness" in one
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="one of"):
        api.profile_command("nsys", ["a.toml"], "out", [], capture="everything")
    with pytest.raises(ConfigError, match="not a range inside a case"):
        api.profile_command("nsys", ["a.toml"], "out", [], capture="measure", case_id="a/x")


def test_run_id_is_handed_over(monkeypatch):
    from harness.results import RUN_ID_ENV, new_run_id

    monkeypatch.setenv(RUN_ID_ENV, "20260101T000000000000Z")
    assert new_run_id() == "20260101T000000000000Z"
    monkeypatch.setenv(RUN_ID_ENV, "../evil")
    assert new_run_id() != "../evil"


def test_cli_profile_passes_capture(tools, monkeypatch, capsys):
    import subprocess

    from harness import cli

    seen: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda cmd: seen.append(cmd) or 0)
    assert cli.main(["profile", "a.toml", "--tool", "nsys", "--capture", "measure",
                     "--output", "o"]) == 0
    assert "--nvtx-capture=measure@harness" in seen[0]
