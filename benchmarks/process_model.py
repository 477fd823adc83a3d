"""SIMULATED: ``ab --processes N`` (harness.ab.processes) on a noise model of replayed layouts,
judged by ab's own verdict code, to see what N rounds buy and what a moved layout costs at a
scale no device session affords.

The model, per comparison: L layouts whose biases are drawn from a layout study's measured
random preparations (``benchmarks/layout_study.py --save``: their log offsets) or N(0, SD);
every process of a side replays them, plus a run-level offset N(0, ``--run-sd``) and, per
layout, a replay residual N(0, ``--residual``) (what the H200's process-paired trials show:
docs/verdicts.md, "Process-paired A/B"). B adds the change; at the level ``moved`` B's
layouts are other draws (its engine allocates differently: the pairs break) and nothing else,
or, with ``--moved-shift SD``, also all shifted together by one N(0, SD) draw: one for the
whole comparison (every process over one base, ``ab --processes`` before session 18, where
the H200 showed it: docs/verdicts.md, "A moved A/A called at one base") or, with
``--pair-bases``, one per process pair (each pair over its own base pad, as built since).

    python -m benchmarks.process_model \\
        --layouts docs/device-runs/session5/layout-shufflenet_v2_x1_0.json \\
        --residual 0.0006 --run-sd 0.0005 --rounds 2,3,4
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from typing import Any

import numpy as np

from benchmarks.extension_model import study_layouts
from harness.ab.measure import ABSettings
from harness.ab.plan import settle
from harness.ab.processes import MAX_GROWTH, rounds_to_add, side_order
from harness.ab.verdict import judge

MOVED = "moved"


def process_record(a_rows: np.ndarray, b_rows: np.ndarray) -> dict[str, Any]:
    """A process-paired A/B record (as ``ab --processes`` writes it) of runs' log medians per
    layout (rows: runs, in ABBA order per side; the p99 a fixed 2 % above the median), each
    layout placed, as a GPU backend places it."""
    rows = {"A": iter(a_rows), "B": iter(b_rows)}
    count = {"A": 0, "B": 0}
    rounds = []
    for label in side_order(len(a_rows)):
        count[label] += 1
        row = next(rows[label])
        rounds.append({"side": label, "round": count[label], "status": "ok", "wall_s": 0.0,
                       "timer": "cuda-event", "samples_ms": [],
                       "layout_figures": [{"median_ms": math.exp(x), "applied": True,
                                           "p99_ms": 1.02 * math.exp(x)} for x in row]})
    return {"id": "sim", "status": "ok", "method": "processes", "rounds": rounds,
            "settings": {"processes": len(a_rows), "tolerance": {}},
            "timing": {"timer": "cuda-event"}, "warnings": [], "a": {}, "b": {}}


def simulate(level: str, rounds: int, layouts: int, biases: np.ndarray | float,
             residual: float, run_sd: float, rng: np.random.Generator,
             extend: bool = False, looks_before: int = 0, moved_shift: float = 0.0,
             pair_bases: bool = False) -> dict[str, Any]:
    """One comparison's record, judged (``biases``: measured offsets to draw from, or an SD).
    With ``extend``, an undecided one gets more processes as ``ab --processes`` gives them
    (:func:`harness.ab.processes.rounds_to_add` with the verdict's sizing). A moved B's
    layouts also shift together by N(0, ``moved_shift``): one draw, or one per process pair
    with ``pair_bases``."""
    def draw() -> np.ndarray:
        if isinstance(biases, np.ndarray):
            return rng.choice(biases, layouts)
        return rng.normal(0.0, biases, layouts)

    a_bias = draw()
    b_bias = draw() if level == MOVED else a_bias
    shift = 0.0 if level in ("0", MOVED) else math.log1p(float(level))

    cap = MAX_GROWTH * rounds if extend else rounds

    def runs(bias: np.ndarray, delta: float) -> np.ndarray:
        return (bias + delta + rng.normal(0.0, run_sd, (cap, 1))
                + rng.normal(0.0, residual, (cap, layouts)))

    a_all, b_all = runs(a_bias, 0.0), runs(b_bias, shift)
    if level == MOVED and moved_shift:
        b_all += rng.normal(0.0, moved_shift, (cap if pair_bases else 1, 1))
    settings = ABSettings(processes=rounds, max_duration_s=30.0 if extend else 0.0)
    extensions: list[dict[str, int]] = []
    k = rounds
    while True:
        record = process_record(a_all[:k], b_all[:k])
        record.update(extensions=list(extensions), looks_before=looks_before)
        more = rounds_to_add(record, settings, settle)
        if not more:
            break
        extensions.append({"processes_added": more, "after_processes": k})
        k += more
    judge([record])
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layouts", help="a layout study's saved file: the biases to draw from")
    p.add_argument("--between", type=float, help="instead: the layouts' SD (normal)")
    p.add_argument("--residual", type=float, default=0.0006,
                   help="SD of a replayed layout between processes (default 0.06 %%)")
    p.add_argument("--run-sd", type=float, default=0.0005,
                   help="SD of a whole process, every layout alike (default 0.05 %%)")
    p.add_argument("--rounds", default="2,3,4", help="comma-separated processes per side")
    p.add_argument("--per-run", type=int, default=4, help="layouts per run (default 4)")
    p.add_argument("--levels", default=f"0,{MOVED},0.005,0.01",
                   help=f"comma-separated B/A changes, or {MOVED!r} (A/A, B's layouts moved)")
    p.add_argument("--extend", action="store_true",
                   help="an undecided comparison gets more processes, as ab's does (up to "
                        "MAX_GROWTH times the start)")
    p.add_argument("--looks-before", type=int, default=0, metavar="L",
                   help="the processes go on after L interleaved looks (ab "
                        "--escalate-processes): their looks continue that alpha spending")
    p.add_argument("--moved-shift", type=float, default=0.0, metavar="SD",
                   help="at the level moved, B's layouts also shift together by N(0, SD)")
    p.add_argument("--pair-bases", action="store_true",
                   help="draw that shift once per process pair (a base pad per pair), "
                        "not once per comparison")
    p.add_argument("--trials", type=int, default=400)
    p.add_argument("--seed", type=int, default=16)
    args = p.parse_args(argv)
    if args.layouts:
        biases: np.ndarray | float = study_layouts(args.layouts)
        name = args.layouts.rsplit("/", 1)[-1]
        print(f"layouts of {name}: {len(biases)} measured, SD {np.std(biases, ddof=1):.2%}")
    elif args.between is not None:
        biases = args.between
        name = f"N(0, {args.between:.2%})"
    else:
        p.error("give --layouts FILE or --between SD")
    print(f"replay residual {args.residual:.3%}, run-level {args.run_sd:.3%}, "
          f"{args.per_run} layouts a run, {args.trials} trials a row (SIMULATED)"
          + (f"; undecided ones extend, up to {MAX_GROWTH}x" if args.extend else "")
          + (f"; after {args.looks_before} interleaved looks" if args.looks_before else "")
          + (f"; a moved B's layouts shift together by N(0, {args.moved_shift:.2%}) "
             + ("per process pair" if args.pair_bases else "once")
             if args.moved_shift else ""))
    print("| layouts | processes per side | on B | verdicts (SIMULATED) | slower or faster "
          "| interval ± (median) | processes at the end (mean) |")
    print("|---|---|---|---|---|---|---|")
    for rounds in (int(x) for x in args.rounds.split(",")):
        for level in args.levels.split(","):
            rng = np.random.default_rng(args.seed)
            recs = [simulate(level, rounds, args.per_run, biases, args.residual, args.run_sd,
                             rng, args.extend, args.looks_before, args.moved_shift,
                             args.pair_bases)
                    for _ in range(args.trials)]
            counts = Counter(r["verdict"].status for r in recs)
            calls = counts["slower"] + counts["faster"]
            half = sorted((r["verdict"]["ci"][1] - r["verdict"]["ci"][0]) / 2
                          for r in recs if r["verdict"].get("ci"))
            shown = "A/A" if level == "0" else (level if level == MOVED
                                                else f"{float(level):+.1%}")
            print(f"| {name} | {rounds} | {shown} | "
                  + ", ".join(f"{k} {n}" for k, n in counts.most_common())
                  + f" | {calls / len(recs):.1%} | "
                  + (f"{half[len(half) // 2]:.2%}" if half else "–")
                  + f" | {np.mean([r['settings']['processes'] for r in recs]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
