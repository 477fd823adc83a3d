"""The replay panel's analysis (benchmarks/replay_panel.py): a known process term is found by
both routes, with the same layouts in every process (fixed seed) and with random ones, and the
one command reads a real stored panel's raw runs (session 11, H200)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_modules import ROOT, load

replay_panel = load("replay_panel")
_root = ROOT


def simulated(process, layout=0.01, layouts=8, runs=40, seed=0):
    """Runs of one case: a process level shared by the run's layouts, plus each layout's
    offset: the same offsets for a fixed seed, fresh ones for random layouts."""
    rng = np.random.default_rng(seed)
    fixed = {s: rng.normal(0, layout, layouts) for s in (1, 2)}
    out = []
    for i in range(runs):
        level = rng.normal(0, process)
        s = (1, 2, None)[i % 3]
        offsets = fixed[s] if s else rng.normal(0, layout, layouts)
        noise = rng.normal(0, 0.0005, layouts)
        out.append(replay_panel.Process("c", s, tuple(np.log(0.5) + level + offsets + noise)))
    return out


@pytest.mark.parametrize("process", [0.0, 0.004])
def test_both_routes_recover_the_process_term(process):
    fixed, rand = [], []
    for seed in range(30):
        procs = simulated(process, seed=seed)
        fixed.append(replay_panel.fixed_seed_term([p for p in procs if p.seed])["sd"])
        rand.append(replay_panel.random_term([p for p in procs if p.seed is None])["excess"])
    assert np.median(fixed) == pytest.approx(process, abs=0.0008)
    # the random route is far looser: the layouts' share (0.35 %) dwarfs a small term
    assert np.median(rand) == pytest.approx(process, abs=0.0025)


def test_the_permutation_test_finds_a_run_level_term_and_not_skew():
    """Runs that share a level are found; skewed layouts without one are not called (a
    heavy tail, as squeezenet1_1's: one layout in five 2 % faster)."""
    def runs(level, seed):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(9):
            tail = np.where(rng.random(8) < 0.2, -0.02, 0.0)
            out.append(replay_panel.Process("c", None, tuple(
                rng.normal(0, level) + tail + rng.normal(0, 0.002, 8))))
        return out
    null = [replay_panel.runs_differ(runs(0.0, s), permutations=400) for s in range(40)]
    assert sum(p < 0.05 for p in null) <= 5          # about 2 of 40 by chance
    found = [replay_panel.runs_differ(runs(0.004, s), permutations=400) for s in range(10)]
    assert sum(p < 0.05 for p in found) >= 8


def test_a_fixed_seed_repeats_its_layouts_between_processes():
    pos = replay_panel.positions([p for p in simulated(0.0) if p.seed])
    assert pos["first"] < 0.001 and pos["later"] < 0.001


def test_the_command_reads_a_real_stored_panel(capsys):
    raw = _root / "docs" / "device-runs" / "session11" / "stored-squeeze.tgz"
    assert replay_panel.main([str(raw)]) == 0
    out = capsys.readouterr().out
    assert "panel/squeezenet1_1/torch:graph/fp16/b8 | – |" in out   # no fixed seed there
    assert "| 13 |" in out
