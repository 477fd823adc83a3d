"""The replay panel (issue 20): is a stored run's process term in its layouts or its process?

Reads the raw runs of ``benchmarks/device/replay_panel.sh``: fresh processes of one scenario,
some with ``run --layout-seed A`` or ``B`` (every process of one seed prepares the very same
layouts in the same order) and some with fresh random layouts (as stored runs do). Per case:

* **fixed seed**: the run means (mean log median over the run's layouts) of the processes of
  one seed can differ only by what the process adds, so their SD *is* the process term (with
  the layouts' own sampling noise / √L, small); pooled over the seeds;
* **random layouts**: the run means' SD, what the layouts alone would give (the within-run
  spread between layouts, pooled, / √L), and the excess between them: the process term as
  sessions 7 and 11 estimated it;
* **runs differ**: a permutation test of the random runs' run means: with no run-level term
  every layout is a draw from one distribution, so shuffling layouts between runs leaves the
  run means' spread where it was. The p-value is the share of shufflings whose spread reaches
  the observed one; it needs no normality (the layouts are skewed and heavy-tailed, where an
  F test's p is not to be trusted);
* **positions**: with a fixed seed, one layout position's SD between processes (first layout,
  and the median of the others): whether a layout repeats itself in another process.

    python -m benchmarks.replay_panel docs/device-runs/session13/replay-panel.tgz
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmarks.stored_panel import load_runs
from harness.results import RunResult
from harness.stats import pooled_variance


@dataclass(frozen=True)
class Process:
    """One case in one process: its layouts' log medians, in order, and its seed (None:
    random layouts)."""

    case: str
    seed: int | None
    log_medians: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.log_medians))


def processes(runs: Sequence[RunResult]) -> list[Process]:
    out = []
    for run in runs:
        for c in run.cases:
            figures = (c.timing or {}).get("layout_figures") or []
            if c.status == "ok" and len(figures) > 1:
                out.append(Process(c.id, (c.timing or {}).get("layout_seed"),
                                   tuple(math.log(f["median_ms"]) for f in figures)))
    return out


def sd_interval(values: Sequence[float], level: float = 0.90) -> tuple[float, float, float, int]:
    """SD, its chi-square interval at ``level`` and its degrees of freedom."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float("nan"), float("nan"), float("nan"), 0
    return _interval(float(((x - x.mean()) ** 2).sum()), len(x) - 1, level)


def _interval(ss: float, df: int, level: float) -> tuple[float, float, float, int]:
    lo, hi = stats.chi2.ppf([(1 + level) / 2, (1 - level) / 2], df)
    return math.sqrt(ss / df), math.sqrt(ss / lo), math.sqrt(ss / hi), df


def fixed_seed_term(procs: Sequence[Process]) -> dict[str, float | int]:
    """The SD of run means between processes of one seed, pooled over seeds, with its 90 %
    interval."""
    var, df = pooled_variance([[p.mean for p in procs if p.seed == seed]
                               for seed in {p.seed for p in procs}])
    if df == 0:
        return {"df": 0}
    sd, lo, hi, df = _interval(var * df, df, 0.90)
    return {"sd": sd, "lo": lo, "hi": hi, "df": df}


def random_term(procs: Sequence[Process]) -> dict[str, float | int]:
    """Run means' SD, the layouts' share (pooled within-run spread / √L) and the excess."""
    if len(procs) < 2:
        return {"runs": len(procs)}
    means = [p.mean for p in procs]
    s2, _ = pooled_variance([p.log_medians for p in procs])
    layouts = float(np.mean([len(p.log_medians) for p in procs]))
    sd, lo, hi, _ = sd_interval(means)
    share = math.sqrt(s2 / layouts)
    return {"runs": len(procs), "sd": sd, "lo": lo, "hi": hi, "layout_sd": math.sqrt(s2),
            "layouts": layouts, "layouts_share": share,
            "excess": math.sqrt(max(sd ** 2 - share ** 2, 0.0))}


def runs_differ(procs: Sequence[Process], permutations: int = 4000,
                seed: int = 0) -> float:
    """Permutation p-value of "the runs' means differ beyond what their layouts give": the
    spread of run means against that of runs formed by shuffling all layouts between runs
    (same run sizes). Each layout centred on its run's position first would remove the very
    term tested, so the raw log medians are shuffled."""
    if len(procs) < 2:
        return float("nan")
    sizes = [len(p.log_medians) for p in procs]
    pooled = np.concatenate([np.asarray(p.log_medians) for p in procs])
    cuts = np.cumsum(sizes)[:-1]

    def spread(x: np.ndarray) -> float:
        return float(np.var([part.mean() for part in np.split(x, cuts)]))

    observed = spread(pooled)
    rng = np.random.default_rng(seed)
    hits = sum(spread(rng.permutation(pooled)) >= observed for _ in range(permutations))
    return (hits + 1) / (permutations + 1)


def positions(procs: Sequence[Process]) -> dict[str, float]:
    """With a fixed seed: one layout position's SD between processes, first and the others."""
    first, later = [], []
    for seed in {p.seed for p in procs}:
        rows = [p.log_medians for p in procs if p.seed == seed]
        if len(rows) < 2 or len({len(r) for r in rows}) != 1:
            continue
        sds = np.std(np.asarray(rows), axis=0, ddof=1)
        first.append(float(sds[0]))
        later.extend(float(v) for v in sds[1:])
    return {"first": float(np.median(first)) if first else float("nan"),
            "later": float(np.median(later)) if later else float("nan")}


def _p(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.2g}"


def report(procs: Sequence[Process]) -> str:
    pct = lambda v: "–" if v is None or not math.isfinite(v) else f"{100 * v:.2f} %"  # noqa: E731
    lines = ["| case | fixed seed: processes | **process term** (90 % interval) | one layout "
             "between processes: first / later | random: runs | run means' SD | layouts "
             "alone (SD / √L) | excess | runs differ (permutation p) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for case in sorted({p.case for p in procs}):
        fixed = [p for p in procs if p.case == case and p.seed is not None]
        rand = [p for p in procs if p.case == case and p.seed is None]
        f, r, pos = fixed_seed_term(fixed), random_term(rand), positions(fixed)
        per_seed = ", ".join(f"{sum(p.seed == s for p in fixed)} of {s}"
                             for s in sorted({p.seed for p in fixed}))
        lines.append(
            f"| {case} | {per_seed or '–'} | {pct(f.get('sd'))} ({pct(f.get('lo'))} – "
            f"{pct(f.get('hi'))}, {f['df']} df) | {pct(pos['first'])} / {pct(pos['later'])} | "
            f"{r['runs']} | {pct(r.get('sd'))} | {pct(r.get('layouts_share'))} "
            f"(SD {pct(r.get('layout_sd'))}, L = {r.get('layouts', 0):.0f}) | "
            f"{pct(r.get('excess'))} | {_p(runs_differ(rand))} |")
    return "\n".join([*lines, "", "SDs of log time (relative). Run mean: the mean log median "
                      "over a run's layouts (what the stored verdict judges)."])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="results files or .tgz archives of them")
    args = p.parse_args(argv)
    procs = processes(load_runs(args.runs))
    if not procs:
        p.error("no case with several layouts in these runs")
    print(report(procs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
