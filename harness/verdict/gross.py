"""The gross-change rule: a slowdown too large for a multiple-comparison budget to hide.

Shared by the stored verdict (:mod:`harness.baseline.verdict`) and the clock confirmation
(:mod:`harness.verdict.clocks`), which confirms it in cycle space too.
"""

from __future__ import annotations

import math

from harness.comparison import detectable_change
from harness.verdict.records import MetricVerdict


def bonferroni_level(m: MetricVerdict, alpha: float) -> float:
    """``alpha / m``: the level each of the matrix's ``tests`` is held to by the gross rule."""
    return alpha / max(int(m.get("tests") or 1), 1)


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

    se = m.get("se")
    if not se or not math.isfinite(se) or m.change <= factor * m.tolerance:
        return False
    return m["log_ratio"] > float(norm.ppf(1 - bonferroni_level(m, alpha))) * se


def gross_detectable(m: MetricVerdict, alpha: float, factor: float, power: float) -> float:
    """The smallest slowdown :func:`gross_change` finds with probability ``power``: the
    gross margin (``factor`` tolerances) or ``exp((z[1 - alpha / m] + z[power]) · se) - 1``,
    whichever is larger; ``inf`` without a finite standard error.

    At few degrees of freedom this, not the t test's MDC, is what a stored comparison can see
    of a large change (the README's flow on the CI VM: MDC +244 % over five accepted runs,
    yet a synthetic 3x was found 15 of 15 times, by this rule)."""
    se = m.get("se")
    if se is None:
        return math.inf
    # the normal quantiles: the t test's MDC with the spread taken as known (df = inf)
    return max(factor * m.tolerance,
               detectable_change(se, math.inf, bonferroni_level(m, alpha), power))
