"""The device scripts (benchmarks/device/*.sh) are read by bash before any device time is
spent on them, and the replay panel's scenarios, one per arm, are valid scenario files: a
typo found here costs nothing, one found on the GPU costs a call (session 14's first call
lost a test to an option nested one level too deep)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import api

DEVICE = Path(__file__).resolve().parents[1] / "benchmarks" / "device"
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="no bash on this machine")


@pytest.mark.parametrize("script", sorted(p.name for p in DEVICE.glob("*.sh")))
def test_bash_reads_the_device_script(script):
    done = subprocess.run([BASH, "-n", str(DEVICE / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


REPO = DEVICE.parents[1]
# the scripts call `python3 -m benchmarks.device.scenario` from the repository root
ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(REPO)}


def _function(script: str, name: str) -> str:
    """A shell function of a device script, as written there (sourced, not copied)."""
    text = (DEVICE / script).read_text()
    start = text.index(f"{name}() {{")
    return text[start:text.index("\n}\n", start) + 2]


@pytest.mark.parametrize(("workspaces", "suffix"), [
    ("", ""), ("preparation", "-ws"), ("", "-eager"), ("", "-nocudnn"),
    ("preparation", "-eager")])
def test_replay_panel_scenarios_are_valid(tmp_path, workspaces, suffix):
    """The script's own ``scenario`` function, for every arm."""
    out = tmp_path / "scenario.toml"
    env = {**ENV, "LAYOUTS": "8", "WORKLOADS": "shufflenet_v2_x1_0 efficientnet_b0"}
    done = subprocess.run([BASH, "-c", _function("replay_panel.sh", "scenario")
                           + '\nscenario "$1" "$2" "$3"', "bash", workspaces, suffix, str(out)],
                          env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    cases = api.list_cases([str(out)])
    assert [c.model for c in cases] == [f"shufflenet_v2_x1_0{suffix}",
                                         f"efficientnet_b0{suffix}"]
    assert all(c.options.get("workspaces", "process") == (workspaces or "process")
               for c in cases)
    assert all(c.timing.layouts == 8 for c in cases)


@pytest.mark.parametrize(("before", "layouts"), [((), ""), (("resnet18", "slow"), "4")])
def test_stored_order_scenarios_are_valid(tmp_path, before, layouts):
    out = tmp_path / "order.toml"
    env = {**ENV, "NEW": "shufflenet_v2_x1_0", "LAYOUTS": layouts}
    done = subprocess.run([BASH, "-c", _function("stored_order.sh", "scenario")
                           + '\nscenario "$@"', "bash", str(out), *before],
                          env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    cases = api.list_cases([str(out)])
    assert [c.model for c in cases] == [m for m in before if m != "slow"] + ["new"]
    assert cases[-1].options.get("slowdown") == ("2%" if "slow" in before else None)
    assert cases[-1].stop.rel_ci == pytest.approx(0.005)
    assert cases[-1].timing.layouts == (int(layouts) if layouts else None)


@pytest.mark.parametrize(("run", "order"), [(1, "fixed"), (4, "fixed"), (7, "fixed"),
                                            (5, "shuffled")])
def test_stored_panel_scenarios_are_valid(tmp_path, run, order):
    """The stored panel's scenario writer (its first heredoc), for each kind of process."""
    text = (DEVICE / "stored_panel.sh").read_text()
    start = text.index("<<'PY'\n") + len("<<'PY'\n")
    code = text[start:text.index("\nPY\n", start)]
    out = tmp_path / f"run{run}.toml"
    done = subprocess.run([sys.executable, "-c", code, str(out), str(run), order, "3",
                           "resnet18", "squeezenet1_1", "mobilenet_v3_small"],
                          capture_output=True, text=True, cwd=REPO, env=ENV)
    assert done.returncode == 0, done.stderr
    ids = [c.model for c in api.list_cases([str(out)])]
    expected = {1: ["squeezenet1_1", "mobilenet_v3_small"],       # accepted: plain
                4: ["squeezenet1_1-slow", "mobilenet_v3_small-slow"],
                7: ["resnet18", "squeezenet1_1", "mobilenet_v3_small"]}
    if order == "fixed":
        assert ids == expected[run]
    else:
        assert sorted(ids) == sorted(expected[1] + expected[4])


def test_ab_processes_scenarios_name_the_workload_under_one_id(tmp_path):
    text = (DEVICE / "ab_processes.sh").read_text()
    lines = [x for x in text.splitlines() if x.startswith("python3 -m benchmarks.device.scenario")]
    env = {**ENV, "O": str(tmp_path), "WORKLOAD": "squeezenet1_1", "LEVEL": "1%"}
    done = subprocess.run([BASH, "-c", "\n".join(lines)], env=env, capture_output=True,
                          text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    sides = {f: api.list_cases([str(tmp_path / f"{f}.toml")]) for f in ("a", "b-same", "b-slow")}
    assert {c.id for cases in sides.values() for c in cases} == {
        "abp/m/torch:graph/fp16/b8"}
    assert sides["b-slow"][0].options["slowdown"] == "1%"
    assert "slowdown" not in sides["b-same"][0].options


def test_the_scenario_writer_rejects_a_malformed_model():
    from benchmark_modules import load

    parse_model = load("device.scenario").parse_model

    assert parse_model("m-slow=squeezenet1_1,slowdown=2%") == (
        "m-slow", "squeezenet1_1", {"slowdown": "2%"})
    for bad in ("squeezenet1_1", "m=", "m=resnet18,slowdown"):
        with pytest.raises(ValueError, match="expected ID=ARCH"):
            parse_model(bad)
