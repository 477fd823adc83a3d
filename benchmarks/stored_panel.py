"""Issue 20, stored flow: judge saved runs against baselines formed from other saved runs,
with the harness's own verdict code (``harness.api.judge``), and count the verdicts.

Input: results files of separate processes (``benchmarks/device/stored_panel.sh`` on a GPU,
or any runs of one scenario). A case whose model id ends in ``-slow`` is its workload with a
slowdown injected; the others are plain. For every run *i* and ``--draws`` random sets of
``--baseline-runs`` other runs: the other runs' plain cases are accepted (entries built by
``harness.baseline.store.entry``, as ``baseline accept`` writes them) and run *i* is judged
twice, its plain cases (A/A: anything but "pass" is a false alarm or an honest "unstable")
and its slowed cases under the plain ids (power). All workloads of run *i* are judged as one
matrix, so the matrix-wide correction is the one a real run gets.

The comparisons share runs (14 runs give 14 x draws comparisons, not that many independent
ones): the counts show how often a rule errs on these runs, not a rate with a binomial
interval.

    python -m benchmarks.stored_panel docs/device-runs/session5/stored-panel.tgz
    python -m benchmarks.stored_panel RUNS... --tolerance 0.01 --rule floor
    python -m benchmarks.stored_panel RUNS... --layouts 4   # as if a fixed 4 had been drawn
    python -m benchmarks.stored_panel RUNS... --history EARLIER...   # baselines from then
    python -m benchmarks.stored_panel REPLAY.tgz --random-layouts --layout-cv 0.004  # A/A only
    python -m benchmarks.stored_panel RUNS... --paired-cv 0.001   # the paired rule's prior
    python -m benchmarks.stored_panel RUNS... --unpaired   # as if no seeds had been replayed

Runs that replayed their baseline's layout seeds (session 15 on) are judged layout by layout
where the baseline's runs drew the same seeds (the "paired" column counts those comparisons).

``--layouts K`` keeps each case's first K layouts (figures and samples): runs that drew more
than K are judged as a fixed count K would have measured them, on the same processes, since
the first K layouts are the ones drawn anyway (session 6 compared the count chosen from a
run's own first layouts, since removed, with fixed counts this way).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from harness import api
from harness.baseline.store import entry
from harness.baseline.verdict import DEFAULT_POLICY, VerdictPolicy
from harness.comparison import NoisePrior, layout_by_run_ss
from harness.layout import FIRST_CONTEXT, next_context, prepared
from harness.results import CaseResult, RunResult, load_results
from harness.stats import summarize, throughput

SLOW = "-slow"


class FloorPolicy(VerdictPolicy):
    """The rule before layouts had their own prior: the CUDA-graph prior as a floor."""

    def layout_prior(self, metric: str) -> NoisePrior:
        return NoisePrior(self.run_to_run_cv["cuda-event-graph"]
                          * (self.p99_noise if metric == "p99" else 1.0), self.prior_weight)


class _Store:
    """Stands in for :class:`harness.baseline.store.BaselineStore`: the entries of the
    chosen runs, in memory (the judge reads nothing else from a store)."""

    def __init__(self, entries: dict[str, list[dict[str, Any]]]) -> None:
        self._entries = entries

    def entries(self, run: RunResult, case: CaseResult) -> tuple[list[dict[str, Any]], list]:
        return self._entries.get(case.id, []), []


def load_runs(paths: list[str], names: list[str] | None = None) -> list[RunResult]:
    """Results files, and ``.tgz`` archives of them (``run*.json`` or any ``*.json``);
    ``names``, where given, gets each run's file name (without ``.json``), in order."""
    runs = []
    for p in paths:
        if p.endswith((".tgz", ".tar.gz")):
            tmp = Path(tempfile.mkdtemp(prefix="stored-panel-"))
            with tarfile.open(p) as tar:
                tar.extractall(tmp, filter="data")
            # in name order (run10 before run2): the baseline draws of the tables in
            # docs/verdicts.md depend on it
            files = sorted(tmp.rglob("*.json"))
        else:
            files = [Path(p)]
        for f in files:
            try:
                run = load_results(f)
            except Exception:           # an archive's other JSON (a printout's)
                continue
            if any(c.status == "ok" for c in run.cases):
                runs.append(run)
                if names is not None:
                    names.append(f.stem)
    return runs


def first_layouts(run: RunResult, k: int) -> RunResult:
    """``run`` as if each case had drawn only its first ``k`` layouts: the figures and the
    samples (which lie in layout order) of the others dropped, the statistics recomputed."""
    cases = []
    for c in run.cases:
        figures = (c.timing or {}).get("layout_figures") or []
        if c.status == "ok" and len(figures) > k:
            samples = c.samples_ms[:sum(int(x["n"]) for x in figures[:k])]
            stats = summarize(samples, (c.case.get("stop") or {}).get("confidence", 0.95))
            timing = {**c.timing, "layout_figures": figures[:k]}
            c = dataclasses.replace(c, samples_ms=samples, stats_ms=stats, timing=timing,
                                    throughput=throughput(c.case["batch"],
                                                          stats["median"] / 1e3))
        cases.append(c)
    return dataclasses.replace(run, cases=cases)


def with_contexts(run: RunResult) -> RunResult:
    """``run`` with each case's ``timing.layout_context`` as the runner records it (from the
    cases before it in the run, in order), where the run predates the record (session 15's
    first panels: one process per run, cases in the order they ran)."""
    cases, context = [], FIRST_CONTEXT
    for c in run.cases:
        if c.timing and c.timing.get("layout_figures") and "layout_context" not in c.timing:
            c = dataclasses.replace(c, timing={**c.timing, "layout_context": context})
        if c.status != "skipped":
            context = next_context(context, prepared(c.case, c.timing))
        cases.append(c)
    return dataclasses.replace(run, cases=cases)


def unpaired(run: RunResult) -> RunResult:
    """``run`` with its layouts' seeds forgotten: judged as if it had drawn fresh layouts
    (the rule before session 15), on the same measurements."""
    cases = []
    for c in run.cases:
        figures = (c.timing or {}).get("layout_figures")
        if figures:
            c = dataclasses.replace(c, timing={**c.timing, "layout_figures": [
                {**x, "seed": None} for x in figures]})
        cases.append(c)
    return dataclasses.replace(run, cases=cases)


def _plain_id(c: CaseResult) -> str:
    model = c.case["model"]
    return c.id.replace(f"/{model}/", f"/{model.removesuffix(SLOW)}/", 1)


def split(run: RunResult) -> tuple[dict[str, CaseResult], dict[str, CaseResult]]:
    """A run's plain and slowed cases, both keyed by the plain case id."""
    plain, slow = {}, {}
    for c in run.cases:
        if c.status != "ok":
            continue
        if c.case["model"].endswith(SLOW) or _slowdown(c):
            slow[_plain_id(c)] = dataclasses.replace(c, id=_plain_id(c), verdict=None)
        else:
            plain[c.id] = dataclasses.replace(c, verdict=None)
    return plain, slow


def _slowdown(c: CaseResult) -> str | None:
    """The injected slowdown a case's options name ("2%"), if any."""
    value = (c.case.get("options") or {}).get("slowdown")
    return str(value) if value else None


def accepted(run: RunResult) -> dict[str, dict[str, Any]]:
    """A run's plain cases as ``baseline accept`` would store them, by case id."""
    return {cid: entry(run, c) for cid, c in split(run)[0].items()}


def judge_once(current: RunResult, cases: dict[str, CaseResult],
               baseline: list[dict[str, dict[str, Any]]], policy: VerdictPolicy,
               tolerance: float | None) -> dict[str, dict[str, Any]]:
    """``cases`` of ``current`` judged as one matrix against the ``baseline`` runs'
    entries (:func:`accepted`, oldest first)."""
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in baseline:
        for cid, e in run.items():
            entries[cid].append(e)
    judged = []
    for cid, c in cases.items():
        # None: the harness's default for how the case was timed (runs saved before it
        # existed carry the old 5 % written out in their case)
        c = dataclasses.replace(c, case={**c.case, "tolerance": {
            **(c.case.get("tolerance") or {}), "median": tolerance, "throughput": tolerance}})
        judged.append(dataclasses.replace(c, id=cid))
    run = dataclasses.replace(current, cases=judged)
    api.judge(run, _Store(entries), policy)
    return {c.id: c.verdict.to_json() for c in run.cases}


def experiment(runs: list[RunResult], baseline_runs: int, draws: int, policy: VerdictPolicy,
               tolerance: float | None, seed: int = 0,
               history: list[RunResult] | None = None, misses: list[str] | None = None,
               names: list[str] | None = None) -> dict[tuple[str, str], Counter]:
    """Judge each of ``runs`` ``draws`` times against ``baseline_runs`` of the others, or of
    ``history`` where given (runs of an earlier session: the baseline's age then counts).
    ``misses``, where given, collects a line for each wrong call (an A/A not passed, an
    injected slowdown not a regression): which run, which baseline runs (``names``: the
    runs' file names, else their places), and the reason."""
    rng = random.Random(seed)
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    mdc: dict[tuple[str, str], list[float]] = defaultdict(list)
    stored = [accepted(r) for r in runs]        # each run's entries, built once
    earlier = [accepted(r) for r in history] if history else None
    label = names or [str(j + 1) for j in range(len(runs))]
    for i, current in enumerate(runs):
        # (name, entries) of the runs to draw baselines from: the history's, or the others
        # with plain cases (a fixed-order panel's slowed runs have none)
        pool = ([(f"history {j + 1}", r) for j, r in enumerate(earlier)] if earlier else
                [(label[j], r) for j, r in enumerate(stored) if j != i and r])
        if len(pool) < baseline_runs:
            continue
        plain, slow = split(current)
        slowed = next((_slowdown(c) for c in slow.values() if _slowdown(c)), None)
        levels = (("A/A", plain), (f"+{slowed}" if slowed else "slowed", slow))
        for _ in range(draws):
            picked = [pool[j] for j in rng.sample(range(len(pool)), baseline_runs)]
            base = [r for _, r in picked]
            for level, cases in levels:
                if not cases:
                    continue
                for cid, v in judge_once(current, cases, base, policy, tolerance).items():
                    key = (cid.split("/")[1], level)
                    counts[key][v["status"]] += 1
                    med = (v.get("metrics") or {}).get("median") or {}
                    counts[key][f"(median {med.get('status')})"] += 1
                    if med.get("mdc") is not None:
                        mdc[key].append(med["mdc"])
                    counts[key]["_paired"] += med.get("method") == "paired-layouts"
                    wrong = v["status"] != ("pass" if level == "A/A" else "regression")
                    if misses is not None and wrong and v["status"] != "new":
                        misses.append(f"{label[i]} {key[0]} {level} vs "
                                      f"{', '.join(sorted(n for n, _ in picked))}: "
                                      f"{v['status']}: {v.get('reason')}")
    for key, values in mdc.items():
        values.sort()
        counts[key]["_mdc_median"] = values[len(values) // 2]
    return counts


def layout_terms(y: np.ndarray) -> tuple[float, float, float]:
    """The two-way split of runs' log layout medians at one set of seeds (rows: runs,
    columns: layouts; two or more of each): the layouts' SD (of the runs' mean per layout),
    the layout-by-run residual SD (the replay noise) and the run-level SD beyond it."""
    j, n = y.shape
    ms = layout_by_run_ss(y) / ((j - 1) * (n - 1))
    run_var = max(float(y.mean(axis=1).var(ddof=1)) - ms / n, 0.0)
    return float(y.mean(axis=0).std(ddof=1)), math.sqrt(ms), math.sqrt(run_var)


def replay_terms(runs: list[RunResult]) -> str:
    """Per workload and level (plain, slowed), over the runs that drew the same layouts
    (the seed most runs share): the two-way split of their log layout medians into the
    layouts' spread, the layout-by-run residual and the run-level SD beyond it (the term the
    paired prior stands for), with the run count and layouts compared."""
    groups: dict[tuple[str, str], list[tuple[int, list[float]]]] = defaultdict(list)
    for run in runs:
        plain, slow = split(run)
        for level, cases in (("plain", plain), ("slowed", slow)):
            for cid, c in cases.items():
                figures = (c.timing or {}).get("layout_figures") or []
                if len(figures) >= 3 and isinstance(figures[0].get("seed"), int):
                    groups[(cid.split("/")[1], level)].append(
                        (figures[0]["seed"], [math.log(x["median_ms"]) for x in figures]))
    lines = ["| workload | runs | layouts | layouts' SD | layout x run residual SD "
             "| run-level SD beyond it |", "|---|---|---|---|---|---|"]
    for (w, level), rows in sorted(groups.items()):
        seed = Counter(s for s, _ in rows).most_common(1)[0][0]
        same = [r for s, r in rows if s == seed]
        n = min(map(len, same))
        if len(same) < 3:
            continue
        layouts, residual, run = layout_terms(np.array([r[:n] for r in same]))
        lines.append(f"| {w} ({level}) | {len(same)} | {n} | {layouts:.2%} | {residual:.2%} "
                     f"| {run:.2%} |")
    return "\n".join(lines)


def table(counts: dict[tuple[str, str], Counter]) -> str:
    lines = ["| workload | judged | comparisons | verdicts | the median's verdicts | median MDC "
             "| paired |", "|---|---|---|---|---|---|---|"]
    for (w, level), c in sorted(counts.items()):
        mdc = c.pop("_mdc_median", float("nan"))
        paired = c.pop("_paired", 0)
        med = {k: n for k, n in c.items() if k.startswith("(")}
        run = {k: n for k, n in c.items() if not k.startswith("(")}
        lines.append(f"| {w} | {level} | {sum(run.values())} | "
                     + ", ".join(f"{k} {n}" for k, n in Counter(run).most_common()) + " | "
                     + ", ".join(f"{k[8:-1]} {n}" for k, n in Counter(med).most_common())
                     + f" | {mdc:.2%} | {paired} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="results files or .tgz archives of them")
    p.add_argument("--baseline-runs", type=int, default=5)
    p.add_argument("--draws", type=int, default=8, help="baseline sets per judged run")
    p.add_argument("--tolerance", type=float, default=None,
                   help="median/throughput tolerance (default: the harness's default)")
    p.add_argument("--rule", choices=("layouts", "floor"), default="layouts",
                   help="layouts: the harness's rule; floor: the CUDA-graph prior as a floor")
    p.add_argument("--layout-cv", type=float, default=None,
                   help="the layout rule's between-run prior (default: the policy's)")
    p.add_argument("--layouts", type=int, default=None,
                   help="judge each case on its first K layouts only (a fixed count)")
    p.add_argument("--history", nargs="+", default=None,
                   help="draw the baselines from these runs (an earlier session's) instead")
    p.add_argument("--prior-weight", type=float, default=None,
                   help="the prior's pseudo-runs ν₀ (default: the policy's)")
    p.add_argument("--paired-cv", type=float, default=None,
                   help="the paired rule's between-run prior (default: the policy's)")
    p.add_argument("--unpaired", action="store_true",
                   help="forget the layouts' seeds: judge replayed runs as fresh layouts")
    p.add_argument("--random-layouts", action="store_true",
                   help="leave out runs made with run --layout-seed (replay panels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-context-runs", type=int, default=None, metavar="K",
                   help="pair within the context only where K accepted runs share it "
                        "(default: the policy's)")
    p.add_argument("--misses", action="store_true",
                   help="list every wrong call: run, baseline runs, reason")
    args = p.parse_args(argv)
    names: list[str] = []
    runs = [with_contexts(r) for r in load_runs(args.runs, names)]
    if args.random_layouts:
        kept = [not any((c.timing or {}).get("layout_seed") is not None for c in r.cases)
                for r in runs]
        runs = [r for r, k in zip(runs, kept, strict=True) if k]
        names = [n for n, k in zip(names, kept, strict=True) if k]
    history = [with_contexts(r) for r in load_runs(args.history)] if args.history else None
    if args.unpaired:
        runs = [unpaired(r) for r in runs]
        history = history and [unpaired(r) for r in history]
    if args.layouts:
        runs = [first_layouts(r, args.layouts) for r in runs]
        history = history and [first_layouts(r, args.layouts) for r in history]
    policy = DEFAULT_POLICY if args.rule == "layouts" else FloorPolicy()
    if args.layout_cv is not None:
        policy = dataclasses.replace(policy, layout_run_cv=args.layout_cv)
    if args.prior_weight is not None:
        policy = dataclasses.replace(policy, prior_weight=args.prior_weight)
    if args.paired_cv is not None:
        policy = dataclasses.replace(policy, paired_layout_cv=args.paired_cv)
    if args.min_context_runs is not None:
        policy = dataclasses.replace(policy, min_context_runs=args.min_context_runs)
    print(f"{len(runs)} runs; baselines of {args.baseline_runs}, {args.draws} draws per run; "
          f"rule {args.rule} (layout prior {policy.layout_run_cv:.2%}, "
          f"{policy.prior_weight:g} pseudo-runs; paired prior {policy.paired_layout_cv:.2%}, "
          f"within a context of {policy.min_context_runs}+ runs"
          f"{', seeds forgotten' if args.unpaired else ''}); "
          f"tolerance {args.tolerance or 'the default'}"
          + (f"; first {args.layouts} layouts of each case" if args.layouts else ""))
    if history:
        print(f"baselines drawn from {len(history)} runs of --history")
    misses: list[str] | None = [] if args.misses else None
    print(table(experiment(runs, args.baseline_runs, args.draws, policy, args.tolerance,
                           args.seed, history, misses, names)))
    for line in misses or ():
        print(line)
    terms = replay_terms(runs)
    if terms.count("\n") > 1:
        print("\nRuns that replayed one set of layouts (the most common first seed):")
        print(terms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
