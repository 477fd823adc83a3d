"""The device scripts (benchmarks/device/*.sh) are read by bash before any device time is
spent on them, and the replay panel's scenarios, one per arm, are valid scenario files: a
typo found here costs nothing, one found on the GPU costs a call (session 14's first call
lost a test to an option nested one level too deep)."""

from __future__ import annotations

import shutil
import subprocess
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


@pytest.mark.parametrize(("workspaces", "suffix"), [
    ("", ""), ("preparation", "-ws"), ("", "-eager"), ("", "-nocudnn"),
    ("preparation", "-eager")])
def test_replay_panel_scenarios_are_valid(tmp_path, workspaces, suffix):
    """The script's own ``scenario`` function (sourced, not copied), for every arm."""
    text = (DEVICE / "replay_panel.sh").read_text()
    start = text.index("scenario() {")
    body = text[start:text.index("done; }", start) + len("done; }")]
    out = tmp_path / "scenario.toml"
    env = {"PATH": "/usr/bin:/bin", "LAYOUTS": "8",
           "WORKLOADS": "shufflenet_v2_x1_0 efficientnet_b0"}
    done = subprocess.run([BASH, "-c", f'{body}\nscenario "$1" "$2" > "$3"', "bash",
                           workspaces, suffix, str(out)], env=env, capture_output=True,
                          text=True)
    assert done.returncode in (0, 1), done.stderr    # 1: the last `[[ -n "" ]]` of the loop
    cases = api.list_cases([str(out)])
    assert [c.model for c in cases] == [f"shufflenet_v2_x1_0{suffix}",
                                         f"efficientnet_b0{suffix}"]
    assert all(c.options.get("workspaces", "process") == (workspaces or "process")
               for c in cases)
