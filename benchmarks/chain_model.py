"""SIMULATED: the whole escalated A/B (``ab --escalate-processes N``), an interleaved comparison
and, where its preparations' spread leaves it undecided, N processes a side at the same
layouts, each phase judged, extended and handed on by ab's own code.

The interleaved phase is :func:`benchmarks.extension_model.simulate` on a layout study's
random layouts (each preparation pair's offset the difference of two of them); the decision
to go on is :func:`harness.ab.plan.escalation`; the processes phase is
:func:`benchmarks.process_model.simulate` on the same layouts, its looks continuing the
interleaved ones (:func:`harness.ab.verdict.look_count`), each process pair over its own base
(``--moved-shift``: how far a moved B's layouts shift together, drawn per pair). A moved B
is, in the interleaved phase, an A/A (its layouts differ from A's there anyway; the H200
called none of 50 such trials); in the processes phase its layouts are other draws, shifted.
Wall time: the interleaved blocks, 2 x preparations x ``--prep-s``, and 2 x processes x
``--process-s``.

    python -m benchmarks.chain_model \\
        --layouts docs/device-runs/session5/layout-shufflenet_v2_x1_0.json \\
        --residual 0.0006 --run-sd 0.0005 --escalate 3 --moved-shift 0.0132
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks import extension_model, process_model
from harness.ab.measure import ABSettings
from harness.ab.plan import escalation
from harness.ab.verdict import look_count


def chain(level: str, layouts: np.ndarray, args: argparse.Namespace,
          rng: np.random.Generator) -> tuple[dict[str, Any], bool, float]:
    """One escalated comparison: its final record, whether it went on, its wall seconds."""
    settings = replace(ABSettings(), escalate_processes=args.escalate)
    delta = 0.0 if level in ("0", process_model.MOVED) else math.log1p(float(level))
    first = extension_model.simulate(delta, layouts, args.within, settings, rng)
    wall = (len({b["pair"] for b in first["blocks"]}) * extension_model.PAIR_S
            + 2 * first["settings"]["instances"] * args.prep_s)
    if escalation(first, settings, wall) is None:
        return first, False, wall
    then = process_model.simulate(level, args.escalate, args.per_run, layouts, args.residual,
                                  args.run_sd, rng, extend=True,
                                  looks_before=look_count(first),
                                  moved_shift=args.moved_shift, pair_bases=True)
    return then, True, wall + 2 * then["settings"]["processes"] * args.process_s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layouts", required=True, help="a layout study's saved file")
    p.add_argument("--within", type=float, default=0.0005,
                   help="interleaved: the SD of a block pair (default 0.05 %%)")
    p.add_argument("--prep-s", type=float, default=1.0,
                   help="interleaved: seconds per preparation and side (default 1)")
    p.add_argument("--residual", type=float, default=0.0006,
                   help="processes: a layout's replay residual (default 0.06 %%)")
    p.add_argument("--run-sd", type=float, default=0.0005,
                   help="processes: a process's run-level offset (default 0.05 %%)")
    p.add_argument("--per-run", type=int, default=4, help="processes: layouts a run")
    p.add_argument("--process-s", type=float, default=12.5,
                   help="processes: seconds per process (default 12.5, squeezenet1_1's)")
    p.add_argument("--escalate", type=int, default=3, help="processes a side to go on to")
    p.add_argument("--moved-shift", type=float, default=0.0, metavar="SD",
                   help="processes: a moved B's layouts shift together by N(0, SD) per pair")
    p.add_argument("--levels", default=f"0,{process_model.MOVED},0.01",
                   help="comma-separated B/A changes, or 'moved'")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=18)
    args = p.parse_args(argv)
    layouts = extension_model.study_layouts(args.layouts)
    name = args.layouts.rsplit("/", 1)[-1]
    print(f"layouts of {name}: {len(layouts)} measured, SD {np.std(layouts, ddof=1):.2%}; "
          f"interleaved block pair {args.within:.3%}, {args.prep_s:g} s a preparation; "
          f"processes: residual {args.residual:.3%}, run-level {args.run_sd:.3%}, "
          f"{args.process_s:g} s each, moved shift {args.moved_shift:.2%} per pair; "
          f"{args.trials} trials a row (SIMULATED)")
    print("| layouts | escalate to | on B | verdicts (SIMULATED) | slower or faster "
          "| went on | wall s (median) |")
    print("|---|---|---|---|---|---|---|")
    for level in args.levels.split(","):
        rng = np.random.default_rng(args.seed)
        runs = [chain(level, layouts, args, rng) for _ in range(args.trials)]
        counts = Counter(r["verdict"].status for r, _, _ in runs)
        shown = "A/A" if level == "0" else (level if level == process_model.MOVED
                                            else f"{float(level):+.1%}")
        print(f"| {name} | {args.escalate} | {shown} | "
              + ", ".join(f"{k} {n}" for k, n in counts.most_common())
              + f" | {(counts['slower'] + counts['faster']) / len(runs):.1%} "
              f"| {sum(on for _, on, _ in runs) / len(runs):.0%} "
              f"| {np.median([w for _, _, w in runs]):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
