"""Issue 20, stored flow: what a case's layouts do when other cases ran before it.

A stored run replays its baseline's layout seeds, but a seed replays a layout only after the
same preparations (``timing.layout_context``). On the H200 an A/B whose B allocated 1-64 MiB
more before its preparations saw *all* of B's layouts shift together (squeezenet1_1, -2.4 %
at one base: docs/verdicts.md, "A moved A/A called at one base"), which pairing layout by
layout cannot see in one run. The stored verdict pairs a run whose context fewer than
``min_context_runs`` accepted runs share on the seeds alone, under the paired prior (0.1 %),
so a common shift of that kind would read as a change. This measures how large it is on
stored panels where a case was added before the judged one.

Per case and set of seeds drawn by runs of two or more contexts: the reference is the
context most runs share (2 or more); for every run of another context, B less A per layout
``d[s]`` against the reference's mean, and

- ``common``: the mean of ``d`` over layouts, the shift all layouts share;
- ``spread``: the SD of ``d`` over layouts; where it is no more than ``--held`` times what
  the reference's own layout-by-run residual predicts (the replay noise), the layouts held
  (the same placements, shifted together or not), else they broke (other placements: the
  spread shows it and widens the paired interval, docs/verdicts.md "Paired layouts");
  ``alike`` where the reference's layouts lie so close together that it cannot be told;
- ``replay``: that residual (the reference runs' layout-by-run SD); ``layouts' SD``: the
  spread of the reference's layouts.

    python -m benchmarks.context_shift docs/device-runs/session1[5-7]/stored-*.tgz
"""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from benchmarks.stored_panel import layout_terms, load_runs, with_contexts
from harness.results import RunResult


@dataclass(frozen=True)
class ContextShift:
    """One run of another context against the reference context's runs (same seeds)."""

    case: str
    runs: int            # the reference context's runs
    layouts: int
    common: float        # mean over layouts of d (log)
    spread: float        # SD over layouts of d (log)
    replay: float        # the reference runs' layout-by-run residual SD (log)
    layout_sd: float     # the SD over layouts of the reference's mean (log)

    def pairs(self, factor: float) -> str:
        """``broke``: ``d``'s spread beyond ``factor`` times what replay noise gives a run
        less the mean of ``runs`` others; ``held``: within it, where the reference's layouts
        lie further apart than that (other placements would have shown); ``alike``: within
        it, but the layouts lie so close together that other placements would not show."""
        if self.spread > factor * self.replay * math.sqrt(1 + 1 / self.runs):
            return "broke"
        return "alike" if self.layout_sd <= factor * self.replay else "held"


def context_shifts(runs: list[RunResult]) -> list[ContextShift]:
    """Every run of a minority context against its case's majority context, seed set by
    seed set (runs as :func:`benchmarks.stored_panel.with_contexts` returns them)."""
    groups: dict[tuple[str, object], list[tuple[str, list[float]]]] = defaultdict(list)
    for run in runs:
        for c in run.cases:
            figures = (c.timing or {}).get("layout_figures") or []
            if c.status != "ok" or not figures:
                continue
            logs = [math.log(x["median_ms"]) for x in figures if x.get("median_ms")]
            groups[(c.id, figures[0].get("seed"))].append(
                (repr(c.timing.get("layout_context")), logs))
    out = []
    for (case, _), members in groups.items():
        counts = Counter(ctx for ctx, _ in members)
        ref_ctx, ref_runs = counts.most_common(1)[0]
        if len(counts) < 2 or ref_runs < 2:
            continue
        n = min(len(logs) for _, logs in members)
        if n < 3:
            continue
        ref = np.array([logs[:n] for ctx, logs in members if ctx == ref_ctx])
        layout_sd, replay, _ = layout_terms(ref)
        ref_mean = ref.mean(axis=0)
        for ctx, logs in members:
            if ctx != ref_ctx:
                d = np.array(logs[:n]) - ref_mean
                out.append(ContextShift(case, ref_runs, n, float(d.mean()),
                                        float(d.std(ddof=1)), replay, layout_sd))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="results files or .tgz archives of stored panels")
    p.add_argument("--held", type=float, default=3.0,
                   help="the layouts held where d's spread is within this many times the "
                        "replay noise's (default 3)")
    args = p.parse_args(argv)
    print("| panel | case | reference runs | layouts | common | spread | replay | layouts' SD "
          "| pairs |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary: dict[str, list[float]] = defaultdict(list)
    for path in args.runs:
        for s in context_shifts([with_contexts(r) for r in load_runs([path])]):
            pairs = s.pairs(args.held)
            summary[pairs].append(s.common)
            print(f"| {path.rsplit('/', 1)[-1]} | {s.case.split('/')[1]} | {s.runs} "
                  f"| {s.layouts} | {math.expm1(s.common):+.2%} | {s.spread:.2%} "
                  f"| {s.replay:.2%} | {s.layout_sd:.2%} | {pairs} |")
    for pairs, commons in sorted(summary.items()):
        top = max(commons, key=abs)
        print(f"pairs {pairs}: {len(commons)} runs, common shift median "
              f"|{np.median(np.abs(commons)):.2%}|, largest {math.expm1(top):+.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
