"""benchmarks/context_shift.py: on simulated stored runs at one set of seeds, a run of
another context whose layouts all shift together is measured as a common shift with its
pairs held, one whose layouts are other placements as broken pairs; and the command reads a
real stored panel."""

from __future__ import annotations

import math

import numpy as np
from benchmark_modules import ROOT, load

from harness.results import CaseResult, RunResult
from harness.stats import summarize

context_shift = load("context_shift")


def _run(layouts: np.ndarray, context: str, rng) -> RunResult:
    """One process's case at seeds 0..L-1 (``layouts``: each layout's log median), after
    the cases ``context`` names."""
    parts = [np.exp(m + 0.0005 * rng.standard_normal() + 0.0002 * rng.standard_normal(50))
             for m in layouts]
    x = np.concatenate(parts)
    figures = [{"seed": i, "applied": True, "n": len(p), "median_ms": float(np.median(p))}
               for i, p in enumerate(parts)]
    case = CaseResult(id="panel/squeeze/torch:graph/fp16/b8", status="ok",
                      case={"scenario": "panel", "model": "squeeze", "options": {}, "batch": 8},
                      backend={"name": "torch"}, samples_ms=x.tolist(), stats_ms=summarize(x),
                      timing={"timer": "cuda-event", "layout_figures": figures,
                              "layout_context": context})
    return RunResult(run_id=context, started="2026-12-03T00:00:00", platform={},
                     platform_id="sim", cases=[case])


def test_a_common_shift_and_broken_pairs_are_told_apart():
    rng = np.random.default_rng(5)
    bias = math.log(0.5) + 0.012 * rng.standard_normal(6)     # layouts 1.2 % apart
    runs = [_run(bias, "alone", rng) for _ in range(4)]
    runs.append(_run(bias + math.log(1.015), "after-resnet18", rng))          # all shifted
    runs.append(_run(math.log(0.5) + 0.012 * rng.standard_normal(6), "after-other", rng))
    shifts = {round(s.common, 3): s for s in context_shift.context_shifts(runs)}
    assert len(shifts) == 2 and all(s.runs == 4 and s.layouts == 6 for s in shifts.values())
    shifted = shifts[round(math.log(1.015), 3)]
    assert shifted.pairs(3.0) == "held" and shifted.spread < 0.002
    other = next(s for s in shifts.values() if s is not shifted)
    assert other.pairs(3.0) == "broke" and other.spread > 0.005


def test_the_command_reads_a_real_stored_panel(capsys):
    raw = ROOT / "docs" / "device-runs" / "session17" / "stored-paired-3.tgz"
    assert context_shift.main([str(raw)]) == 0
    out = capsys.readouterr().out
    assert "| stored-paired-3.tgz | regnet_y_400mf | 8 | 4 | -0.32% |" in out
    assert "pairs held: 3 runs" in out
