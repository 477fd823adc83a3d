"""The layout study (benchmarks/layout_study.py): its analysis recovers known variance
components from simulated data (fixed seeds), and the one command runs end to end on the CPU
with ONNX Runtime (which applies no layout, and says so)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from benchmark_modules import load

# benchmarks/ is not installed with the package: load the script from the checkout
layout_study = load("layout_study")
analyse, main = layout_study.analyse, layout_study.main

TRUE = {"blocks": 0.001, "pattern": 0.008, "fixed_own": 0.003, "random": 0.006,
        "process": 0.004}


def simulated(seed, processes=16, instances=10, rounds=20, sd=TRUE, shift=0.0):
    """log block median = process level + (fixed: a per-position offset shared by every
    process + its own offset; random: a fresh layout offset, mean moved by ``shift``) +
    block noise."""
    rng = np.random.default_rng(seed)
    pattern = rng.normal(0, sd["pattern"], instances)
    procs, levels = [], rng.normal(0, sd["process"], processes)
    for level in levels:
        preps = []
        for kind in ("fixed", "random"):
            for i in range(instances):
                offset = (pattern[i] + rng.normal(0, sd["fixed_own"]) if kind == "fixed"
                          else shift + rng.normal(0, sd["random"]))
                x = np.exp(level + offset + rng.normal(0, sd["blocks"], rounds))
                preps.append({"kind": kind, "index": i, "applied": True,
                              "blocks_ms": (1.5 * x).tolist()})
        procs.append({"preparations": preps})
    # the draws themselves: what the analysis can recover is their spread, not sigma's
    return {"case": "sim", "processes": procs,
            "drawn": {"pattern": float(pattern.std(ddof=1)), "process": float(levels.std(ddof=1))}}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_analysis_recovers_known_variance_components(seed):
    data = simulated(seed)
    drawn = data["drawn"]
    a = analyse(data)
    assert a["between_blocks_sd"] == pytest.approx(TRUE["blocks"], rel=0.1)
    fixed = float(np.hypot(drawn["pattern"], TRUE["fixed_own"]))
    assert a["between_fixed_sd"] == pytest.approx(fixed, rel=0.15)
    assert a["between_random_sd"] == pytest.approx(TRUE["random"], rel=0.15)
    assert a["between_processes_sd"] == pytest.approx(drawn["process"], rel=0.25)
    assert a["fixed_pattern_sd"] == pytest.approx(drawn["pattern"], rel=0.15)
    assert a["layouts_applied"] and a["fixed_instances"] == a["random_instances"] == 10


def test_absent_levels_read_near_zero():
    quiet = dict(TRUE, process=0.0, pattern=0.0, random=0.0)
    a = analyse(simulated(5, sd=quiet))
    assert a["between_processes_sd"] < 0.001 and a["between_random_sd"] < 0.0005
    assert a["fixed_pattern_sd"] < 0.001
    # a mean shift of the random layouts is not a spread
    assert analyse(simulated(5, sd=quiet, shift=0.01))["between_random_sd"] < 0.0005


def test_the_study_runs_on_the_cpu_and_reanalyses_its_saved_data(tmp_path, capsys):
    saved = tmp_path / "study.json"
    assert main(["zoo:transformer", "--shapes", "input_ids:1x8", "--processes", "2",
                 "--instances", "2", "--rounds", "3", "--block-s", "0.005",
                 "--save", str(saved)]) == 0
    first = capsys.readouterr().out
    assert "between random layouts" in first and "applies no layout" in first
    data = json.loads(saved.read_text())
    [w] = data["workloads"]
    assert len(w["processes"]) == 2
    preps = w["processes"][0]["preparations"]
    assert [p["kind"] for p in preps] == ["fixed", "fixed", "random", "random"]
    assert not any(p["applied"] for p in preps) and all(len(p["blocks_ms"]) == 3
                                                        for p in preps)
    assert main(["--load", str(saved)]) == 0
    assert capsys.readouterr().out == first
