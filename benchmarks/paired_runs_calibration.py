"""SIMULATED: how often ``compare_paired_runs``'s interval misses zero in an A/A whose layouts
are nested in the process pairs (``ab --processes`` over a base per pair, B allocating
differently from A): each pair's B less A is a common shift N(0, ``shift``) plus an
independent N(0, ``layout``) per layout. Nominal: 2 alpha (2 % at ab's alpha of 0.01).

Then the same for ``compare_layout_groups`` (the stored verdict's runs, and ``ab
--processes`` where no layout was placed), whose terms have the same form: there it holds
about its level at both priors, so it was left as it is.

This is the textbook model of the design, not a measured workload: it checks the
interval's arithmetic (its degrees of freedom above all), which session 19 found lent the
layouts' degrees of freedom to the pairs' term (on the H200 a moved A/A read "faster" on 11
where its three pairs gave 2). ``--module`` judges with another copy of
``harness/comparison.py``, e.g. the one before that change::

    python -m benchmarks.paired_runs_calibration
    git show d6a30eb:harness/comparison.py > /tmp/before.py
    python -m benchmarks.paired_runs_calibration --module /tmp/before.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np

from harness import comparison

# (common shift SD, layout SD) per row: the layouts' spread dominating, as squeezenet1_1's
# moved A/As on the H200 (B less A within a pair 0.9-2.5 %); a shift dominating; no shift;
# both small (a B that allocates alike: the replay noise)
CASES = ((0.008, 0.012), (0.015, 0.005), (0.0, 0.012), (0.002, 0.0015))
PRIOR = comparison.NoisePrior(0.001, 4.0, floor=False)   # ab's paired prior (paired_layout_cv)
# compare_layout_groups: (run-level SD, layout-by-run SD) rows; (baseline runs, current runs)
GROUP_CASES = ((0.01, 0.003), (0.005, 0.01), (0.002, 0.002))
GROUPS = ((5, 1), (3, 3))


def miss_rate(compare: Callable[..., comparison.Comparison], shift: float, layout: float,
              pairs: int, layouts: int, trials: int, rng: np.random.Generator,
              alpha: float = 0.01) -> float:
    """The share of simulated A/As whose (1 - 2 alpha) interval excludes zero."""
    zeros = np.zeros((pairs, layouts))
    misses = 0
    for _ in range(trials):
        d = rng.normal(0.0, shift, (pairs, 1)) + rng.normal(0.0, layout, (pairs, layouts))
        c = compare(zeros, d, PRIOR, alpha=alpha)
        misses += c.ci[0] > 0 or c.ci[1] < 0
    return misses / trials


def groups_miss_rate(compare: Callable[..., comparison.Comparison], prior: comparison.NoisePrior,
                     run: float, layout: float, runs: tuple[int, int], layouts: int,
                     trials: int, rng: np.random.Generator, alpha: float = 0.01) -> float:
    """The same for ``compare_layout_groups`` (the stored verdict's J baseline runs against
    one current run, and ``ab --processes`` where no layout was placed): every run replays
    the same layouts (N(0, 1.2 %) each, shared), plus a run-level N(0, ``run``) and a
    layout-by-run N(0, ``layout``)."""
    j, k = runs
    misses = 0
    for _ in range(trials):
        shared = rng.normal(0.0, 0.012, layouts)
        base = shared + rng.normal(0.0, run, (j, 1)) + rng.normal(0.0, layout, (j, layouts))
        cur = shared + rng.normal(0.0, run, (k, 1)) + rng.normal(0.0, layout, (k, layouts))
        c = compare(base, cur, prior, alpha=alpha)
        misses += c.ci[0] > 0 or c.ci[1] < 0
    return misses / trials


def load(path: str | None) -> ModuleType:
    """``harness.comparison``, or the copy of it at ``path``."""
    if path is None:
        return comparison
    spec = importlib.util.spec_from_file_location("comparison_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--module", help="judge with this copy of harness/comparison.py")
    p.add_argument("--pairs", default="2,3,4", help="comma-separated process pairs")
    p.add_argument("--layouts", type=int, default=4, help="layouts per run (default 4)")
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--seed", type=int, default=19)
    args = p.parse_args(argv)
    module = load(args.module)
    compare = module.compare_paired_runs
    pairs = [int(x) for x in args.pairs.split(",")]
    print(f"A/A misses of the 98 % interval (nominal 2 %), {args.trials} trials a cell, "
          f"{args.layouts} layouts a run (SIMULATED)")
    print("| common shift | layouts | " + " | ".join(f"{k} pairs" for k in pairs) + " |")
    print("|---|---|" + "---|" * len(pairs))
    for shift, layout in CASES:
        rates = [miss_rate(compare, shift, layout, k, args.layouts, args.trials,
                           np.random.default_rng(args.seed)) for k in pairs]
        print(f"| {shift:.2%} | {layout:.2%} | " + " | ".join(f"{r:.1%}" for r in rates) + " |")
    print(f"\nThe layout-groups comparison on the same terms ({args.trials} trials a cell): "
          "runs replaying shared layouts, a run-level term and a layout-by-run term")
    print("| prior | run-level | layout-by-run | 5 baseline vs 1 | 3 vs 3 |")
    print("|---|---|---|---|---|")
    for prior in (module.NoisePrior(0.006, 4.0), module.NoisePrior(0.001, 4.0, floor=False)):
        for run, layout in GROUP_CASES:
            rates = [groups_miss_rate(module.compare_layout_groups, prior, run, layout, runs,
                                      args.layouts, args.trials,
                                      np.random.default_rng(args.seed)) for runs in GROUPS]
            print(f"| {prior.run_to_run_cv:.1%} | {run:.1%} | {layout:.1%} | "
                  + " | ".join(f"{r:.1%}" for r in rates) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
