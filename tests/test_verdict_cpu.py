"""Issue 20, CPU side of the stored-baseline verdict: the MDC at the level the decision is
made at, host contention, the gross-change rule, how many more accepted runs, and creep
across accepts. Simulated data with fixed seeds; nothing here is timed."""

from __future__ import annotations

import numpy as np
import pytest

from harness.baseline.verdict import evaluate_case, finalize
from harness.comparison import (
    RunEstimate,
    compare_to_baseline,
    decision_levels,
    detectable_change,
    holm,
)
from harness.stats import summarize


def result(samples, timing=None, **kw):
    x = np.asarray(samples, dtype=float)
    base = {"status": "ok", "samples_ms": x.tolist(), "stats_ms": summarize(x),
            "backend": {"name": "tensorrt", "version": "10.9"}, "precision": "fp16",
            "timing": timing or {"timer": "cuda-event", "cuda_graph": True}}
    base.update(kw)
    return base


def samples(level=1.0, seed=0, n=400, cv=0.002):
    return level * np.exp(np.random.default_rng(seed).normal(0, cv, n))


# -- item 7: MDC at the level where the decision is made ------------------------------------

def test_holm_levels_follow_the_step_each_test_was_decided_at():
    alpha = 0.01
    # nothing rejected: every test faces Holm's worst-case first step alpha / m
    assert decision_levels([0.5, 0.2, 0.9, 0.3], alpha) == [alpha / 4] * 4
    # two rejected (ranks 0, 1): decided at alpha/4 and alpha/3; the rest would need alpha/2
    p = [0.3, 0.0001, 0.002, 0.8]
    lv = decision_levels(p, alpha)
    assert lv == pytest.approx([alpha / 2, alpha / 4, alpha / 3, alpha / 2])
    # consistent with the adjusted p-values: rejected exactly where p < level
    adj = holm(p)
    assert [a < alpha for a in adj] == [x < level for x, level in zip(p, lv, strict=True)]


def test_bh_and_none_levels():
    alpha = 0.01
    lv = decision_levels([0.001, 0.004, 0.5, 0.9], alpha, "bh")
    assert lv == pytest.approx([alpha * 2 / 4, alpha * 2 / 4, alpha * 3 / 4, alpha * 3 / 4])
    assert decision_levels([0.1, 0.2], alpha, "none") == [alpha, alpha]


def test_stored_mdc_is_computed_at_the_holm_level_of_the_matrix():
    base = [result(samples(seed=s, cv=0.002)) for s in range(5)]
    cases = [evaluate_case(result(samples(seed=50 + i, cv=0.002)), base) for i in range(4)]
    finalize(cases)
    m = cases[0]["metrics"]["median"]
    # 4 cases x (median, p99), nothing rejected: alpha / 8
    assert m["tests"] == 8 and m["mdc_level"] == pytest.approx(0.01 / 8)
    single = compare_to_baseline(RunEstimate(0, 0.0005, 10, 400),
                                 [RunEstimate(0, 0.0005, 10, 400)] * 5)
    assert m["mdc"] == pytest.approx(detectable_change(m["se"], m["df"], 0.01 / 8, 0.8))
    # what the old single-test MDC reported, for the same interval: smaller
    old = detectable_change(m["se"], m["df"], 0.01, 0.8)
    assert m["mdc"] > 1.12 * old and single.mdc > 0
    assert cases[0]["mdc"] == m["mdc"]
