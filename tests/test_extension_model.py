"""The extension model (benchmarks/extension_model.py) runs the real A/B extension and
verdict code on synthetic blocks. Its "settled at the first look" count is what a device
slice is held against (a record says whether it extended), so it must count comparisons that
the first look decided and no others."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _row(between: float, delta: float, trials: int = 12) -> list[str]:
    # benchmarks/ is not installed with the package: run the script from the checkout
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.extension_model", "--between", str(between),
         "--deltas", str(delta), "--extension-pairs", "0", "--spending", "front",
         "--trials", str(trials), "--seed", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    header, _, row = [line for line in out.splitlines() if line.startswith("|")]
    cells = dict(zip([c.strip() for c in header.split("|")],
                     [c.strip() for c in row.split("|")], strict=True))
    return [cells["verdicts (SIMULATED)"], cells["settled at the first look"],
            cells["preparations per side (median)"]]


def test_a_change_far_beyond_the_noise_is_settled_at_the_first_look():
    verdicts, first_look, preparations = _row(between=0.001, delta=0.03)
    assert verdicts == "slower 12"
    assert first_look == "12"
    assert preparations == "6"


def test_comparisons_that_extend_are_not_counted_as_settled_at_the_first_look():
    # layouts 3 % apart against a 0.5 % tolerance: no first look of 6 preparations settles
    verdicts, first_look, preparations = _row(between=0.03, delta=0.0)
    assert first_look == "0"
    assert int(preparations) > 6
    assert "undecided" in verdicts
