"""The process-term study (benchmarks/process_term.py): its two-way analysis recovers a known
process term, seed pattern and interaction from simulated data (fixed seeds), and the one
command runs end to end on the CPU with ONNX Runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_modules import load

# benchmarks/ is not installed with the package: load the script from the checkout
process_term = load("process_term")


def simulated(seed, process=0.004, pattern=0.01, interaction=0.002, repeat=0.001,
              blocks=0.0005, processes=24, seeds=8, passes=2, n_blocks=3):
    """log block median = seed offset (the same in every process) + process level +
    the seed's offset in this process + a repeat's own offset + block noise."""
    rng = np.random.default_rng(seed)
    offsets = rng.normal(0, pattern, seeds)
    procs = []
    for _ in range(processes):
        level = rng.normal(0, process)
        own = rng.normal(0, interaction, seeds)
        preps = []
        for r in range(passes):
            for k in range(seeds):
                mean = offsets[k] + level + own[k] + rng.normal(0, repeat)
                x = mean + rng.normal(0, blocks, n_blocks)
                preps.append({"seed_index": k, "pass": r, "blocks_ms": np.exp(x).tolist()})
        procs.append({"mode": "pads", "preparations": preps})
    return procs


@pytest.mark.parametrize("process", [0.0, 0.004])
def test_components_recover_the_process_term(process):
    got = [process_term.components(simulated(s, process=process)) for s in range(20)]
    est = np.median([g["process_sd"] for g in got])
    assert est == pytest.approx(process, abs=0.001)
    assert np.median([g["seed_sd"] for g in got]) == pytest.approx(0.01, rel=0.25)
    assert np.median([g["interaction_sd"] for g in got]) == pytest.approx(0.002, abs=0.0008)
    assert np.median([g["repeat_sd"] for g in got]) == pytest.approx(0.001, abs=0.0004)


def test_a_process_term_is_not_read_as_a_seed_pattern():
    """Every preparation of a process shares the level: it must land in the process term,
    not in the seeds' pattern or the interaction."""
    a = process_term.components(simulated(3, process=0.006, pattern=0.0, interaction=0.0))
    assert a["process_sd"] > 0.004
    assert a["seed_sd"] < 0.001 and a["interaction_sd"] < 0.001


def test_a_history_that_moves_only_the_first_preparation_shows_there():
    """What the H200 showed (session 13): a per-process prefix moved a process's first
    preparation and none of the later ones. The first position's SD between processes must
    carry it, the later positions' must not."""
    procs = simulated(5, process=0.0, interaction=0.0, processes=12)
    rng = np.random.default_rng(9)
    for proc in procs:
        shift = float(np.exp(rng.normal(0, 0.005)))
        first = proc["preparations"][0]
        first["blocks_ms"] = [b * shift for b in first["blocks_ms"]]
    a = process_term.components(procs)
    assert 0.003 < a["first_position_sd"] < 0.008
    assert a["other_positions_sd"] < 0.0025


def test_the_study_runs_end_to_end_on_the_cpu(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)                  # run as documented: python -m from the checkout
    monkeypatch.syspath_prepend(str(root))
    save = tmp_path / "study.json"
    assert process_term.main(["zoo:resnet", "--backend", "onnxruntime", "--precision",
                              "fp32", "--processes", "2", "--seeds", "2", "--passes", "1",
                              "--blocks", "2", "--block-s", "0.01", "--modes", "pads,warmup",
                              "--save", str(save)]) == 0
    data = json.loads(save.read_text())
    procs = data["workloads"][0]["processes"]
    assert [p["mode"] for p in procs] == ["pads", "warmup"] * 2
    assert all(len(p["preparations"]) == 2 for p in procs)
    # a warm-up preparation at a seed of its own, drawn afresh in every process
    warm = [p["warmup_seed"] for p in procs if p["mode"] == "warmup"]
    assert None not in warm and warm[0] != warm[1]
    assert all(p["warmup_seed"] is None for p in procs if p["mode"] == "pads")
    assert process_term.main(["--load", str(save)]) == 0


def test_an_unknown_mode_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit):
        process_term.main(["zoo:resnet", "--modes", "pads,stir"])
    assert "unknown ['stir']" in capsys.readouterr().err
