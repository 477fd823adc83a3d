"""benchmarks/ab_processes.py: A and B in alternate fresh processes at one set of layout
seeds (a prototype measured before it is built into ``ab``)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np

_path = Path(__file__).resolve().parents[1] / "benchmarks" / "ab_processes.py"
_spec = importlib.util.spec_from_file_location("ab_processes", _path)
ab_processes = importlib.util.module_from_spec(_spec)
sys.modules["ab_processes"] = ab_processes
_spec.loader.exec_module(ab_processes)


def test_sides_alternate_abba_and_calls_follow_the_ab_rule():
    """ABBA over rounds; on simulated replays (layouts 1.2 % apart, replays 0.05 %) +1 % is
    "slower" and an A/A "same"; where B's layouts moved, the interval widens."""
    assert ab_processes.side_order(3) == ["A", "B", "B", "A", "A", "B"]
    rng = np.random.default_rng(5)
    bias = 0.012 * rng.standard_normal(8)

    def runs(shift):
        return [list(bias + shift + 0.0005 * rng.standard_normal(8)) for _ in range(4)]

    a = runs(0.0)
    call, paired = ab_processes.judge(a, runs(math.log(1.01)), 0.005, 0.001)
    assert call == "slower"
    assert ab_processes.judge(a, runs(0.0), 0.005, 0.001)[0] == "same"
    # B's layouts moved (a change in what it allocates): the pairs break and the interval
    # widens to the layouts' spread
    bias = 0.012 * rng.standard_normal(8)
    moved = ab_processes.judge(a, runs(math.log(1.01)), 0.005, 0.001)[1]
    assert moved.se > 5 * paired.se


def test_a_real_round_on_the_cpu(write_toml, tmp_path, capsys):
    """One round of real processes (ONNX Runtime, which does not place memory: the layouts
    are repeated preparations, so this checks the plumbing, not the pairing): both sides'
    runs are found, judged and saved."""
    body = """
        name = "abp"
        [defaults]
        backends = ["onnxruntime"]
        batch = [1]
        timing = { layouts = 3 }
        stop = { min_time = "0.1s", max_time = "0.2s" }
        [[model]]
        id = "tf"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
    """
    a, b = write_toml(body, name="a.toml"), write_toml(body, name="b.toml")
    out = tmp_path / "runs"
    assert ab_processes.main([str(a), str(b), "--rounds", "1", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["A1", "B1"]
    saved = json.loads((out / "ab_processes.json").read_text())
    [(cid, row)] = saved.items()
    assert cid == "abp/tf/onnxruntime/fp32/b1" and row["call"] in (
        "slower", "faster", "same", "undecided")
    assert "| abp/tf/onnxruntime/fp32/b1 | 1 / 1 | 3 |" in capsys.readouterr().out
