"""Re-judge a recorded stored flow (the README's: N runs accepted, more runs judged against
them) under other verdict settings, with synthetic slowdowns of chosen cases on the real runs.

Input: a folder or ``.tgz`` holding ``reports/runs/*.json`` (in the order they were taken) and
the ``baselines/`` folder the first ``--accepted`` runs were accepted into. Every later run is
judged as ``trt-harness run`` judged it (the whole matrix, the run's own platform), unmodified
(A/A: a "regression" is a false alarm) and with ``--slow GLOB=FACTOR`` applied to its samples,
stats and layout figures (power on real noise; a busy-wait slowdown would add host noise of
its own, this one adds none).

    python -m benchmarks.rejudge_flow docs/device-runs/session10/readme-flow-2-cpu-vm.tgz \\
        --host-cv 0.08,0.2 --slow '*/resnet/*/b1=3'
"""

from __future__ import annotations

import argparse
import fnmatch
import tarfile
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness import api
from harness.baseline.store import BaselineStore
from harness.baseline.verdict import VerdictPolicy
from harness.results import CaseResult, load_results
from harness.stats import summarize


def slowed(case: CaseResult, factor: float) -> CaseResult:
    """The case as if every inference had taken ``factor`` times as long."""
    x = np.asarray(case.samples_ms, dtype=float) * factor
    timing = dict(case.timing or {})
    if timing.get("layout_figures"):
        timing["layout_figures"] = [
            {k: (v * factor if k.endswith("_ms") else v) for k, v in f.items()}
            for f in timing["layout_figures"]]
    return replace(case, samples_ms=x.tolist(), stats_ms=summarize(x), timing=timing)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("flow", help="folder or .tgz with reports/runs/ and baselines/")
    p.add_argument("--accepted", type=int, default=5, help="runs accepted (the first N)")
    p.add_argument("--host-cv", default=str(VerdictPolicy().run_to_run_cv["host"]),
                   help="comma-separated host priors of the median to judge under")
    p.add_argument("--host-p99-cv", default=None,
                   help="the host p99's prior (default: the policy's; 'x3' = 3x the median's)")
    p.add_argument("--slow", action="append", default=[], metavar="GLOB=FACTOR",
                   help="a synthetic slowdown of the cases matching GLOB in every judged run")
    p.add_argument("--must-see", type=float, default=VerdictPolicy().must_see,
                   help="the slowdown a green pass must be able to see ('inf': the rule "
                        "before session 11, when a pass never turned undecided)")
    p.add_argument("--must-see-power", type=float, default=VerdictPolicy().must_see_power,
                   help="the power with which a green pass must be able to see --must-see")
    p.add_argument("--skip-last", type=int, default=0,
                   help="leave out the last N runs (e.g. a run with an injected delay)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.flow)
        if root.is_file():
            with tarfile.open(root) as tf:
                tf.extractall(tmp, filter="data")
            root = Path(tmp)
        runs = sorted((root / "reports" / "runs").glob("*.json"))   # named by start time
        # read once: api.judge sets each case's verdict afresh, whatever it held before
        judged = [load_results(str(p)) for p in runs[args.accepted:len(runs) - args.skip_last]]
        store = BaselineStore(str(root / "baselines"))
        slow = [(g, float(f)) for g, _, f in (s.rpartition("=") for s in args.slow)]
        print("| host prior (median / p99) | slowed | runs | verdicts | the slowed cases' "
              "verdicts | regressions |")
        print("|---|---|---|---|---|---|")
        p99 = ({} if args.host_p99_cv == "x3" else
               {"host": float(args.host_p99_cv)} if args.host_p99_cv else None)
        for cv in (float(x) for x in args.host_cv.split(",")):
            policy = VerdictPolicy(run_to_run_cv={**VerdictPolicy().run_to_run_cv, "host": cv},
                                   must_see=args.must_see,
                                   must_see_power=args.must_see_power,
                                   **({} if p99 is None else {"p99_run_to_run_cv": p99}))
            p99_cv = policy.prior({"timer": "host"}, "p99").run_to_run_cv
            for glob, factor in [("", 1.0), *slow]:
                counts: Counter[str] = Counter()
                slowed_counts: Counter[str] = Counter()
                calls: Counter[str] = Counter()
                for run in judged:
                    if glob:
                        run = replace(run, cases=[slowed(c, factor) if fnmatch.fnmatch(c.id, glob)
                                                  else c for c in run.cases])
                    api.judge(run, store, policy)
                    for c in run.cases:
                        if c.verdict is None:
                            continue
                        counts[c.verdict.status] += 1
                        if glob and fnmatch.fnmatch(c.id, glob):
                            slowed_counts[c.verdict.status] += 1
                        if c.verdict.status == "regression":
                            calls[f"{c.id} ({c.verdict.metric})"] += 1
                what = f"{glob} x{factor:g}" if glob else "none (A/A)"
                print(f"| {cv:.2f} / {p99_cv:.2f} | {what} | {len(judged)} | "
                      + ", ".join(f"{k} {n}" for k, n in counts.most_common()) + " | "
                      + (", ".join(f"{k} {n}" for k, n in slowed_counts.most_common()) or "-")
                      + " | " + ("; ".join(f"{k} {n}" for k, n in calls.most_common()) or "-")
                      + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
