"""The gross-change rule: a slowdown too large for a multiple-comparison budget to hide.

Shared by the stored verdict (:mod:`harness.baseline.verdict`) and the clock confirmation
(:mod:`harness.verdict.clocks`), which confirms it in cycle space too.
"""

from __future__ import annotations

import math

from harness.verdict.records import MetricVerdict


def gross_change(m: MetricVerdict, alpha: float, factor: float) -> bool:
    """A slowdown too large for any multiple-comparison budget to hide (issue 20: a 10x
    slowdown passed, Holm over 8 tests with 2 degrees of freedom).

    The t test's heavy tails at few degrees of freedom are there because the spread might
    be larger than measured. Here the spread is never below the prior floor (the between-run
    prior, ``NoisePrior``), so the normal quantile at the Bonferroni level alpha / m bounds
    each test's false-alarm chance by alpha / m (the whole matrix's by alpha) as long as
    that floor holds; the change must also exceed ``factor`` tolerances, a margin for the
    floor being wrong (host median: +20 % at the default 5 %; p99: +80 %)."""
    from scipy.stats import norm

    se, tests = m.get("se"), max(int(m.get("tests") or 1), 1)
    if not se or not math.isfinite(se) or m.change <= factor * m.tolerance:
        return False
    return m["log_ratio"] > float(norm.ppf(1 - alpha / tests)) * se
