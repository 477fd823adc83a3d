"""The comparison statistics on synthetic data with known shifts (fixed seeds; rates asserted
with margins wide enough that no seed could flip them, and the draws are fixed anyway)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.comparison import (
    NoisePrior,
    RunEstimate,
    benjamini_hochberg,
    compare_paired,
    compare_to_baseline,
    holm,
    run_estimate,
)
from harness.distributions import mann_whitney_u, t_cdf, t_ppf


def test_t_distribution_reference_values():
    # textbook quantiles
    assert t_ppf(0.975, 1) == pytest.approx(12.7062, rel=1e-4)
    assert t_ppf(0.975, 10) == pytest.approx(2.2281, rel=1e-4)
    assert t_ppf(0.99, 4) == pytest.approx(3.7469, rel=1e-4)
    assert t_ppf(0.025, 10) == pytest.approx(-2.2281, rel=1e-4)
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert t_ppf(0.975, math.inf) == pytest.approx(1.95996, rel=1e-5)


def test_mann_whitney_detects_shift_and_ties():
    rng = np.random.default_rng(0)
    assert mann_whitney_u(rng.normal(0, 1, 200), rng.normal(1, 1, 200)) < 1e-6
    assert mann_whitney_u([1, 1, 1], [1, 1, 1]) == 1.0


def _run(rng, shift=0.0, run_cv=0.005, within=0.004, n=400, phi=0.6):
    """One run: a run-level offset plus AR(1) sample noise (samples are not independent)."""
    e = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = phi * prev + rng.normal(0, within * math.sqrt(1 - phi * phi))
        e[i] = prev
    return np.exp(math.log(1.0 + shift) + rng.normal(0, run_cv) + e)


def test_run_estimate_batch_means_sees_autocorrelation():
    rng = np.random.default_rng(1)
    x = _run(rng, run_cv=0.0, phi=0.95, n=2000)
    est = run_estimate(x, "median", blocks=10)
    naive = 1.2533 * np.std(np.log(x)) / math.sqrt(len(x))
    assert est.blocks == 10 and est.within_se > 1.5 * naive
    assert run_estimate([], "median") is None
    assert math.isinf(run_estimate([1.0, 1.1], "median").within_se)


def _false_alarms_and_power(j, shift, trials, seed):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        base = [run_estimate(_run(rng), "median") for _ in range(j)]
        cur = run_estimate(_run(rng, shift), "median")
        c = compare_to_baseline(cur, base, NoisePrior(0.005, 4), alpha=0.01)
        hits += c.p_slower < 0.01
    return hits / trials


def test_stored_baseline_false_alarms_and_power():
    # A/A: the nominal rate is 1 %; 300 trials -> allow up to 3 %
    assert _false_alarms_and_power(1, 0.0, 300, 2) <= 0.03
    assert _false_alarms_and_power(5, 0.0, 300, 3) <= 0.03
    # a 5 % slowdown against 0.5 % run-to-run noise is always seen with 5 runs
    assert _false_alarms_and_power(5, 0.05, 100, 4) >= 0.95


def test_one_baseline_run_gets_the_prior_floor():
    cur = RunEstimate(math.log(1.01), 1e-4, 10, 500)
    base = [RunEstimate(0.0, 1e-4, 10, 500)]
    c = compare_to_baseline(cur, base, NoisePrior(0.005, 4))
    # the within-run error alone would call +1 % hugely significant; the floor does not
    assert c.p_slower > 0.01 and c.mdc > 0.02
    assert c.change == pytest.approx(0.01)
    # tightly agreeing runs (accepted close in time) do not shrink the noise below the floor
    many = [RunEstimate(x, 1e-4, 10, 500) for x in np.linspace(-0.0005, 0.0005, 20)]
    c20 = compare_to_baseline(cur, many, NoisePrior(0.005, 4))
    assert c20.between_run_cv == pytest.approx(0.005) and c20.df > 20
    # a wide spread among the runs is taken as it is
    wide = [RunEstimate(x, 1e-4, 10, 500) for x in (-0.02, 0.0, 0.02)]
    assert compare_to_baseline(cur, wide, NoisePrior(0.005, 4)).between_run_cv > 0.015


def test_paired_false_alarms_and_power():
    rng = np.random.default_rng(5)

    def trial(shift):
        drift = np.cumsum(rng.normal(0, 0.002, 20))         # common drift, cancels in pairs
        a = drift + rng.normal(0, 0.0008, 20)
        b = drift + math.log1p(shift) + rng.normal(0, 0.0008, 20)
        return compare_paired(b - a, alpha=0.01)

    aa = [trial(0.0).p_slower < 0.01 for _ in range(400)]
    assert np.mean(aa) <= 0.025
    det = [trial(0.005).p_slower < 0.01 for _ in range(100)]
    assert np.mean(det) >= 0.95


def test_paired_sets_aside_a_disturbed_pair():
    rng = np.random.default_rng(6)
    d = rng.normal(0.005, 0.0005, 16)
    d[7] += 0.05                                             # a clock step inside one pair
    c = compare_paired(d)
    assert "1 disturbed" in c.method and c.change == pytest.approx(0.005, abs=0.001)
    assert compare_paired(d, robust=False).se > 5 * c.se


def test_corrections():
    p = [0.001, 0.01, 0.02, 0.5]
    assert holm(p) == pytest.approx([0.004, 0.03, 0.04, 0.5])
    assert benjamini_hochberg(p) == pytest.approx([0.004, 0.02, 0.02 * 4 / 3, 0.5])
    # Holm over a matrix of 10 null cases: the run's false-alarm rate stays near alpha
    rng = np.random.default_rng(7)
    any_alarm = [min(holm(rng.uniform(size=10))) < 0.05 for _ in range(1000)]
    assert np.mean(any_alarm) <= 0.07
