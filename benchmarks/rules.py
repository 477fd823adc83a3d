"""The regression rules compared side by side in the verdict experiments. Each takes raw
samples (ms) and answers "regression?" — ours through the harness's real verdict code.

- ``harness``: :func:`harness.baseline.verdict.compare_case` (stored baseline runs) or the
  paired A/B verdict (:mod:`harness.ab.verdict`);
- ``pytest-benchmark median:5%``: ``--benchmark-compare-fail=median:5%`` — the current
  median more than 5 % above the saved run's; no significance test;
- ``asv``: asv's default — ratio > 1.10 *and* Mann-Whitney U p < 0.002 on the samples;
- ``samples MW p<0.01``: a plain Mann-Whitney test on samples (the naive rule gpu.md warns of).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from harness.ab.verdict import judge as judge_ab
from harness.baseline.verdict import VerdictPolicy, evaluate_case, finalize
from harness.stats import summarize

# How the judged runs were timed (sets the verdict's run-to-run prior); the experiment sets
# it from its source: CUDA-graph replay for the calibration / torch-graph cases.
TIMING = {"timer": "cuda-event", "cuda_graph": True}
LATENCY = ("median", "p99", "throughput")


def as_result(samples: np.ndarray) -> dict[str, Any]:
    """A measured case as the verdict reads it (CaseResult fields)."""
    return {"status": "ok", "samples_ms": samples.tolist(), "stats_ms": summarize(samples),
            "backend": {"name": "calibration", "version": "1"}, "precision": "fp32",
            "timing": dict(TIMING), "telemetry": None}


def harness_stored(groups: list[tuple[list[np.ndarray], np.ndarray]], tolerance: float,
                   policy: VerdictPolicy) -> list[bool]:
    """Judge comparisons together as one matrix (Holm across them): regression flags."""
    verdicts = []
    for baseline_runs, current in groups:
        entries = [as_result(b) for b in baseline_runs]
        tol = {"median": tolerance, "p99": max(tolerance, 0.2)}
        verdicts.append(evaluate_case(as_result(current), entries, tol, policy))
    verdicts = finalize(verdicts, policy)
    # Latency power counts latency verdicts only: a regression through another gate (memory,
    # size) is a different finding, whatever it does to the exit code (issue 22).
    return [v["status"] == "regression" and v.get("metric") in LATENCY for v in verdicts]


def harness_paired(records: list[dict[str, Any]], tolerance: float,
                   policy: VerdictPolicy) -> list[tuple[bool, float]]:
    """(B slower?, MDC of the median) for each A/B record, judged together."""
    for r in records:
        r["settings"]["tolerance"] = {"median": tolerance, "p99": max(tolerance, 0.02),
                                      "throughput": tolerance}
    judge_ab(records, policy)
    return [(r["verdict"]["status"] == "slower",
             r["verdict"]["metrics"].get("median", {}).get("mdc", float("nan")))
            for r in records]


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with tie and
    continuity correction). As asv uses it: it treats every sample as an independent draw,
    which timing samples are not — kept for the side-by-side comparison with asv's rule."""
    if len(x) == 0 or len(y) == 0:
        return 1.0
    p = mannwhitneyu(x, y, use_continuity=True, alternative="two-sided",
                     method="asymptotic").pvalue
    return 1.0 if np.isnan(p) else min(1.0, float(p))


def pytest_benchmark_median(baseline: np.ndarray, current: np.ndarray,
                            threshold: float = 0.05) -> bool:
    return float(np.median(current)) > float(np.median(baseline)) * (1 + threshold)


def asv_rule(baseline: np.ndarray, current: np.ndarray, factor: float = 1.10,
             p_threshold: float = 0.002) -> bool:
    ratio = float(np.median(current)) / float(np.median(baseline))
    return ratio > factor and mann_whitney_u(baseline, current) < p_threshold


def samples_mw(baseline: np.ndarray, current: np.ndarray, p: float = 0.01) -> bool:
    return (float(np.median(current)) > float(np.median(baseline))
            and mann_whitney_u(baseline, current) < p)
