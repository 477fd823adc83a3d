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


def test_measured_layouts_and_a_trim_are_simulated():
    """``--layouts``: each pair's offset is the difference of two measured layouts (here the
    H200 layout study's shufflenet_v2_x1_0); ``--trims`` sets the preparation trim for its
    rows only, each row naming it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.extension_model", "--layouts",
         "docs/device-runs/session5/layout-shufflenet_v2_x1_0.json", "--trims", "0,0.2",
         "--deltas", "0.05", "--extension-pairs", "0", "--spending", "front", "--trials", "4"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith("| layouts of")]
    assert [r.split("|")[5].strip() for r in rows] == ["0", "0.2"]
    assert all("slower 4" in r for r in rows)         # +5 % against ~1.9 % between pairs
    assert "between-preparation SD 1.8" in out        # √2 x the layouts' 1.32 %


def test_a_trimmed_preparation_estimate_names_itself_and_resists_one_pair():
    """VerdictPolicy.preparation_trim (0 by default: rejected on the tuning workloads):
    set, the random-effects estimate is the trimmed mean of the pairs' means, and one pair far
    out does not carry it."""
    import numpy as np

    import harness.comparison as comparison

    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(10), 4)
    offsets = rng.normal(0, 0.01, 10)                  # pairs 1 % apart: random effects
    offsets[7] = 0.08                                   # and one pair 8 % out
    d = offsets[groups] + rng.normal(0, 0.0005, len(groups))
    plain = comparison.compare_preparations(d, groups)
    trimmed = comparison.compare_preparations(d, groups, trim=0.2)
    assert plain.method == "random-effects over 10 preparation pairs (df 9)"
    assert "trimmed (2 each end)" in trimmed.method and "(df 5)" in trimmed.method
    assert abs(trimmed.change) < abs(plain.change) / 3 and trimmed.se < plain.se
