"""Verdicts: compare one case's result with its baseline entries. Pure functions.

A regression is called only when the slowdown is larger than the case's tolerance *and*
statistically clear: the current median's CI lies wholly above every accepted run's median CI.
The baseline's run-to-run spread thereby widens what counts as noise.
"""

from __future__ import annotations

from statistics import median
from typing import Any

VERDICTS = ("pass", "regression", "improvement", "new", "failed", "skipped", "incomparable",
            "unstable")
FAILING = ("regression", "failed")


def verdict(status: str, reason: str, **fields: Any) -> dict[str, Any]:
    return {"status": status, "reason": reason, **fields}


def compare_case(current: dict[str, Any], entries: list[dict[str, Any]],
                 tolerance: float) -> dict[str, Any]:
    """Verdict for one case. ``current`` holds ``status``, ``error``, ``stats_ms``, ``backend``
    and ``precision``; ``entries`` are the accepted baseline runs of the case, oldest first."""
    if current["status"] == "skipped":
        return verdict("skipped", current.get("error") or "skipped")
    if current["status"] != "ok":
        had = " (it has a baseline)" if entries else ""
        return verdict("failed", f"{current.get('error') or current['status']}{had}")
    if not entries:
        return verdict("new", "no baseline for this case on this platform")
    last = entries[-1]
    for key, label in (("backend", "backend"), ("precision", "precision")):
        if last.get(key) != current.get(key):
            return verdict("incomparable", f"{label} differs from the baseline's: "
                           f"{last.get(key)} now {current.get(key)}; accept a new baseline")
    cur = current.get("stats_ms")
    if not cur:
        return verdict("pass", "build-only case: no latency measured (build metrics are "
                       "gated separately)")
    ref = median(e["stats_ms"]["median"] for e in entries)
    base_hi = max(e["stats_ms"]["median_ci_high"] for e in entries)
    base_lo = min(e["stats_ms"]["median_ci_low"] for e in entries)
    change = cur["median"] / ref - 1.0
    fields = {"metric": "median", "change": change, "baseline_ms": ref,
              "current_ms": cur["median"], "current_ci_ms": [cur["median_ci_low"],
                                                             cur["median_ci_high"]],
              "baseline_range_ms": [base_lo, base_hi], "tolerance": tolerance,
              "baseline_runs": len(entries)}
    clear_slower = cur["median_ci_low"] > base_hi
    clear_faster = cur["median_ci_high"] < base_lo
    if change > tolerance and clear_slower:
        return verdict("regression", f"median {change:+.1%} vs baseline ({ref:.4g} ms -> "
                       f"{cur['median']:.4g} ms), beyond the ±{tolerance:.1%} tolerance and "
                       "outside the baseline's interval", **fields)
    if change < -tolerance and clear_faster:
        return verdict("improvement", f"median {change:+.1%} vs baseline ({ref:.4g} ms -> "
                       f"{cur['median']:.4g} ms)", **fields)
    why = ("within tolerance" if abs(change) <= tolerance
           else "beyond tolerance but not outside the baseline's noise")
    return verdict("pass", f"median {change:+.1%} vs baseline, {why} (±{tolerance:.1%})",
                   **fields)


def summarize_verdicts(verdicts: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for v in verdicts:
        counts[v["status"]] = counts.get(v["status"], 0) + 1
    return counts


def exit_code(verdicts: list[dict[str, Any]], fail_on: tuple[str, ...] = FAILING) -> int:
    """1 when any verdict is in ``fail_on`` (regressions and broken cases), else 0."""
    return 1 if any(v["status"] in fail_on for v in verdicts) else 0
