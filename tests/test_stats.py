from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from harness.scenario.schema import StopRule
from harness.stats import median_ci, median_ci_ranks, summarize
from harness.timing.stopping import StoppingCriterion


def test_summary_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 0.3, 1001)
    s = summarize(x)
    assert s["n"] == 1001
    assert s["median"] == pytest.approx(np.median(x))
    assert s["mean"] == pytest.approx(np.mean(x))
    assert s["stdev"] == pytest.approx(np.std(x, ddof=1))
    for q in (90, 95, 99):
        assert s[f"p{q}"] == pytest.approx(np.percentile(x, q))
    assert s["min"] == x.min() and s["max"] == x.max()
    assert s["cv"] == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert s["median_ci_low"] <= s["median"] <= s["median_ci_high"]


def _coverage(n: int, lo: int) -> float:
    # P(lo+1 <= B <= n-1-lo), B ~ Binomial(n, 1/2): brute force reference.
    return sum(math.comb(n, i) for i in range(lo + 1, n - lo)) / 2 ** n


@pytest.mark.parametrize("n", [6, 10, 25, 50, 101, 400, 2000])
def test_median_ci_ranks_are_the_tightest_with_coverage(n):
    lo, hi, cov = median_ci_ranks(n, 0.95)
    assert hi == n - 1 - lo
    assert cov == pytest.approx(_coverage(n, lo))
    assert cov >= 0.95
    assert _coverage(n, lo + 1) < 0.95          # one rank tighter would not cover


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_median_ci_ranks_match_exact_binomial_sums(confidence):
    # Exact integer sums: the largest lo whose coverage reaches ``confidence``, every n.
    conf = Fraction(confidence)
    for n in range(1, 301):
        below, want = 0, 0                  # below = sum of C(n, i) for i <= lo
        for lo in range(n // 2):
            below += math.comb(n, lo)
            if Fraction(2 ** n - 2 * below, 2 ** n) < conf:
                break
            want = lo
        lo, hi, cov = median_ci_ranks(n, confidence)
        assert (lo, hi) == (want, n - 1 - want), n
        assert cov == pytest.approx(_coverage(n, lo), abs=1e-12)


def test_median_ci_small_n_falls_back_to_range():
    lo, hi, cov = median_ci_ranks(4, 0.95)
    assert (lo, hi) == (0, 3) and cov < 0.95


def test_median_ci_empirical_coverage():
    # On skewed data the interval covers the true median ~95 % of the time (fixed seed).
    rng = np.random.default_rng(7)
    true_median = 1.0  # lognormal(0, s) has median e^0
    hits = sum(lo <= true_median <= hi for lo, hi in
               (median_ci(rng.lognormal(0, 0.5, 60)) for _ in range(2000)))
    assert 0.93 <= hits / 2000 <= 0.985


def test_large_n_uses_normal_approximation_sanely():
    lo, hi, _ = median_ci_ranks(100_000, 0.95)
    assert 49_600 < lo < 49_700 and hi == 100_000 - 1 - lo


def test_stopping_rule_converges_on_quiet_data():
    c = StoppingCriterion(StopRule(rel_ci=0.01, min_samples=20, min_time=0, max_time=10))
    rng = np.random.default_rng(0)
    for i in range(10_000):
        c.add(1.0 + rng.normal(0, 0.001), elapsed=i * 1e-3)
        if c.is_finished():
            break
    assert c.reason.startswith("converged") and len(c.samples) < 200


def test_stopping_rule_caps_noisy_data():
    c = StoppingCriterion(StopRule(rel_ci=0.0001, min_samples=20, min_time=0, max_time=0.5))
    rng = np.random.default_rng(0)
    t = 0.0
    while not c.is_finished():
        t += 0.01
        c.add(rng.lognormal(0, 1), elapsed=t)
    assert c.reason.startswith("time cap") and c.rel_ci > 0.0001


def test_stopping_rule_respects_minimums():
    c = StoppingCriterion(StopRule(rel_ci=0.5, min_samples=50, min_time=0, max_time=100))
    for i in range(49):
        c.add(1.0, elapsed=i)
        assert not c.is_finished()
    c.add(1.0, elapsed=50)
    assert c.is_finished()
