"""Issue 20, CPU side of the stored-baseline verdict: the MDC at the level the decision is
made at, host contention, the gross-change rule, how many more accepted runs, and creep
across accepts. Simulated data with fixed seeds; nothing here is timed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.baseline.verdict import VerdictPolicy, compare_case, evaluate_case, finalize
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
    cases = finalize(cases)
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


# -- item 6: host contention and the gross-change rule -------------------------------------

QUIET = {"wall_s": 2.0, "cpus": 2, "others_cores": 0.1, "self_cores": 1.0,
         "steal_share": 0.0, "iowait_share": 0.0, "load_avg_1m": 1.1}
BUSY = {**QUIET, "others_cores": 1.4, "load_avg_1m": 3.2}
HOST = {"timer": "host"}
HOST_GRAPH = {"timer": "cuda-event", "cuda_graph": True}


def cpu_run(level, seed, busy=False, n=300):
    """A host-timed run on a shared 2-core VM: a run-to-run factor (CV 5 %, the CI VM's
    3-9 %), 8 % within-run noise with 2 % spikes of 3x; busy: +114 % at CoV ~44 % (what the
    CI VM showed beside other jobs) and the host record that goes with it."""
    rng = np.random.default_rng(seed)
    x = level * math.exp(rng.normal(0, 0.05)) * np.exp(rng.normal(0, 0.08, n))
    x[rng.random(n) < 0.02] *= 3
    if busy:
        x *= np.exp(rng.normal(math.log(2.14), 0.4, n))
    return result(x, timing=HOST, telemetry={"host": BUSY if busy else QUIET})


def old_host_priors(**kw) -> VerdictPolicy:
    """The host's priors before session 10: 8 % for the median, the p99 3x that."""
    return VerdictPolicy(run_to_run_cv={**VerdictPolicy().run_to_run_cv, "host": 0.08},
                         p99_run_to_run_cv={}, **kw)


def judge_matrix(n_cases, slow_case=None, factor=1.0, busy=False, contended_accept=False,
                 seed=0, policy=None):
    """Verdicts of a matrix of CPU cases (about 1.1 ms each, b1) against 3 accepted runs;
    ``contended_accept``: one of the accepted runs was taken beside other work (+50 %), the
    way the baseline spread exceeds the prior and leaves the t test 2 degrees of freedom."""
    policy = policy or VerdictPolicy()
    verdicts = []
    for c in range(n_cases):
        level = 1.1 * (1 + 0.1 * c)
        base = [cpu_run(level, 1000 * seed + 10 * c + j) for j in range(3)]
        if contended_accept:
            base[1] = cpu_run(level * 1.5, 1000 * seed + 10 * c + 1)
            base[1]["telemetry"] = {"host": BUSY if contended_accept == "recorded" else None}
        cur = cpu_run(level * (factor if c == slow_case else 1.0), 7777 + 1000 * seed + c,
                      busy=busy)
        verdicts.append(evaluate_case(cur, base, policy=policy))
    return finalize(verdicts, policy)


@pytest.mark.parametrize("n_cases", [4, 24])
@pytest.mark.parametrize("factor", [3.0, 10.0])
@pytest.mark.parametrize("contended_accept", [False, True, "recorded"])
def test_gross_slowdowns_are_regressions(n_cases, factor, contended_accept):
    if contended_accept is True and n_cases == 24 and factor == 3.0:
        # an unrecorded contended accept (+50 %) leaves a 25 % baseline spread: Bonferroni
        # over 48 tests then needs about 2.9x; the recorded one is left out (below)
        pytest.skip("beyond what a 25 % baseline spread lets 48 tests see")
    for seed in range(3):
        vs = judge_matrix(n_cases, slow_case=1, factor=factor, seed=seed,
                          contended_accept=contended_accept)
        assert vs[1]["status"] == "regression", vs[1]["reason"]
        assert all(v["status"] != "regression" for i, v in enumerate(vs) if i != 1)


def test_the_10x_case_that_passed_before_the_gross_rule():
    # issue 20: 4-case b1 matrix, one accepted run taken beside other work (with no host
    # record, as before this change), 10x on one case: Holm over 8 tests, 2 df (and, as
    # then, no minimum of accepted runs for host-timed cases)
    before = old_host_priors(gross_factor=math.inf, min_runs_host_bound=0, must_see=math.inf)
    old = judge_matrix(4, slow_case=1, factor=10.0, contended_accept=True, policy=before,
                       seed=2)
    m = old[1]["metrics"]["median"]
    assert old[1]["status"] == "pass" and m["df"] < 2.1 and m["p_slower_adjusted"] > 0.05
    # even without the gross rule, a pass that could not have seen 3x is no longer green
    blind = judge_matrix(4, slow_case=1, factor=10.0, contended_accept=True, seed=2,
                         policy=old_host_priors(gross_factor=math.inf, min_runs_host_bound=0))
    assert blind[1]["status"] == "undecided"
    new = judge_matrix(4, slow_case=1, factor=10.0, contended_accept=True, seed=2)
    assert new[1]["status"] == "regression" and new[1]["metrics"]["median"]["gross"]
    assert "gross change" in new[1]["reason"]


@pytest.mark.parametrize("n_cases", [4, 24])
def test_unmodified_runs_beside_a_competing_load_are_host_busy(n_cases):
    for seed in range(3):
        for contended_accept in (False, True, "recorded"):
            vs = judge_matrix(n_cases, busy=True, seed=seed, contended_accept=contended_accept)
            assert all(v["status"] == "unstable" for v in vs)
            assert all("unstable: host busy (other processes used 1.40 cores" in v["reason"]
                       for v in vs)
            if not contended_accept:
                # the slowdown the load caused would be called without the host record
                assert any(v.get("would_be") == "regression" for v in vs)


def test_host_timed_cases_need_five_runs_but_a_gross_change_stands():
    """Below ``min_runs_host_bound`` accepted runs a host-timed case is "unstable" (its
    process-to-process spread is unknown: bimodal medians 0.34 / 0.50 ms on the CI VM, with
    nothing else running), unless the change is gross; from 5 runs on, their spread is the
    noise."""
    for seed in range(3):
        assert all(v["status"] == "unstable" and "accept at least 5 runs" in v["reason"]
                   for v in judge_matrix(4, slow_case=1, factor=1.5, seed=seed))
        vs = judge_matrix(4, slow_case=1, factor=3.0, seed=seed)
        assert vs[1]["status"] == "regression" and vs[1]["metrics"]["median"]["gross"]
        five = VerdictPolicy(min_runs_host_bound=3)
        assert judge_matrix(4, seed=seed, policy=five)[0]["status"] in ("pass", "improvement")


def test_quiet_unmodified_runs_raise_no_alarm():
    for seed in range(10):
        for contended_accept in (False, True, "recorded"):
            vs = judge_matrix(24, seed=seed, contended_accept=contended_accept)
            assert not [v["reason"] for v in vs if v["status"] == "regression"]


def test_busy_host_voids_a_slowdown_only_up_to_what_contention_explains():
    from harness.telemetry import host

    # the case kept 1 of 2 cores: contention explains up to 2 * 2 / 1 = 4x
    assert host.explained_slowdown(BUSY) == pytest.approx(4.0)
    vs = judge_matrix(4, slow_case=0, factor=1.5, busy=True)     # 1.5 x 2.14 < 4x
    assert vs[0]["status"] == "unstable" and vs[0]["would_be"] == "regression"
    vs = judge_matrix(4, slow_case=0, factor=10.0, busy=True)     # 10 x 2.14: the case's own
    assert vs[0]["status"] == "regression" and "explains at most 4.0x" in vs[0]["reason"]
    assert all(v["status"] == "unstable" for v in vs[1:])


def _tail_run(seed, tail=None, n=600):
    """A quiet host-timed run (run-to-run CV 5 %, 3 % within), with ``tail``: "phase" puts
    5 % of its samples, one contiguous stretch, at 2.5x (a slow phase of the host, which
    /proc does not see); "steady" every 25th sample at 4x (a tail the code itself added; the
    host's p99 prior, 35 % between processes, leaves a 2.5x tail within reach of the noise
    of 5 accepted runs)."""
    rng = np.random.default_rng(seed)
    x = 1.7 * math.exp(rng.normal(0, 0.05)) * np.exp(rng.normal(0, 0.03, n))
    if tail == "phase":
        x[n // 2:n // 2 + n // 20] *= 2.5
    elif tail == "steady":
        x[::25] *= 4.0
    return result(x, timing=HOST, telemetry={"host": QUIET})


def test_a_host_timed_tail_from_a_slow_phase_is_not_a_regression():
    """The README's flow on the CI VM: an unmodified quick-start run (5 accepted) read p99
    +166 % from a slow phase of the host (29 of 608 samples; no other process, no steal),
    and the gross-change rule called it a regression. A p99 that unsteady within its own
    run is "unstable" (exit 3, still not green); a steady tail regression stands."""
    # under the host's priors before session 10 the slow phase's p99 is a regression by the
    # numbers, and only the run's own unsteady tail stops it
    old_priors = old_host_priors()
    for seed in range(5):
        base = [_tail_run(100 * seed + j) for j in range(5)]
        phase_run = _tail_run(100 * seed + 50, "phase")
        [phase] = finalize([evaluate_case(phase_run, base, policy=old_priors)], old_priors)
        assert phase["status"] == "unstable" and phase["would_be"] == "regression"
        assert phase["metrics"]["p99"]["status"] == "regression"      # what it would have been
        assert any(u.startswith("noisy tail: the p99's own standard error")
                   for u in phase["unstable"])
        [phase] = finalize([evaluate_case(phase_run, base)])
        assert phase["status"] != "regression"
        [steady] = finalize([evaluate_case(_tail_run(100 * seed + 50, "steady"), base)])
        assert steady["status"] == "regression" and steady["metric"] == "p99"
        [plain] = finalize([evaluate_case(_tail_run(100 * seed + 50), base)])
        assert plain["status"] == "pass" and not plain["unstable"]


def test_the_noisy_tail_rule_leaves_cuda_graph_timing_alone():
    base = [result(samples(seed=s)) for s in range(5)]
    x = samples(seed=9, n=600)
    x[300:330] *= 2.5
    [v] = finalize([evaluate_case(result(x), base)])
    assert v["status"] == "regression" and v["metric"] == "p99"


def test_busy_accepted_runs_are_left_out_of_the_timing_baseline():
    vs = judge_matrix(4, slow_case=1, factor=3.0, contended_accept="recorded")
    assert vs[1]["busy_baseline_runs"] == 1 and vs[1]["status"] == "regression"
    m = vs[1]["metrics"]["median"]
    # the two quiet runs agree better than the host's prior: the prior is the floor
    host_prior = VerdictPolicy().run_to_run_cv["host"]
    assert m["replicates"] == 2 and m["between_run_cv"] == pytest.approx(host_prior)


STAT = """cpu  {u} 0 {s} {i} {w} 0 0 {st} 0 0
cpu0 1 0 1 1 0 0 0 0 0 0
cpu1 1 0 1 1 0 0 0 0 0 0
intr 1 2 3
"""
SELF = "1234 (python (x) y) R 1 1 1 0 -1 0 0 0 0 0 {ut} {stt} 0 0 20 0 1 0 1 1 1"


def test_host_counters_parse_and_difference():
    from harness.telemetry import host

    cpu, cpus = host.parse_proc_stat(STAT.format(u=100, s=50, i=1000, w=5, st=2))
    assert cpus == 2 and cpu["user"] == 100 and cpu["steal"] == 2
    assert host.parse_self_stat(SELF.format(ut=70, stt=30)) == 100   # name with spaces
    # 2 s on 2 CPUs = 400 ticks: the case 200 (one core), others 100, steal 40, iowait 20
    before = host.HostSnapshot(cpu, 2, 100, 0.0, None)
    after_cpu, _ = host.parse_proc_stat(STAT.format(u=350, s=100, i=1040, w=25, st=42))
    load = host.host_load(before, host.HostSnapshot(after_cpu, 2, 300, 2.0, 1.5))
    assert load.self_cores == pytest.approx(1.0) and load.others_cores == pytest.approx(0.5)
    assert load.steal_share == pytest.approx(0.1) and load.iowait_share == pytest.approx(0.05)
    why = host.host_busy(load)
    assert why.startswith("host busy (CPU steal 10%") and "load average 1.50" in why
    assert host.host_busy(host.HostLoad.from_json(QUIET)) is None
    # the case uses both cores: a quarter core of others' work already competes with it
    both = {**QUIET, "self_cores": 2.0, "others_cores": 0.3}
    assert "limit 0.25" in host.host_busy(both)
    assert host.host_busy({**BUSY, "wall_s": 0.05}) is None        # too short to say
    two = host.combine(host.HostLoad.from_json(QUIET), host.HostLoad.from_json(BUSY))
    assert two.windows == 2 and two.others_cores == pytest.approx(0.75)


def test_host_timed_measurement_records_contention_into_the_result(tmp_path):
    from harness.api import bench, bench_case
    from harness.scenario.schema import StopRule, Warmup
    from harness.timing.host import HostTimer
    from harness.timing.measure import measure

    m = measure(lambda: None, HostTimer(), Warmup(min_time=0, max_time=0.01, min_iterations=1),
                StopRule(min_samples=3, max_samples=10**6, min_time=0.3, max_time=0.3))
    assert set(m.extra["host"]) >= {"others_cores", "steal_share", "load_avg_1m", "cpus"}
    # the runner puts the window into the case's result, where the verdict reads it
    run_ = bench(bench_case("zoo:transformer", shapes="input_ids:1x8", warmup="20ms",
                            duration="300ms"))
    [res] = run_.cases
    assert res.status == "ok", res.error
    assert res.telemetry["host"]["cpus"] >= 1 and res.telemetry["host"]["windows"] == 1


# -- item 4 (stored half): how many more accepted runs ------------------------------------

def test_a_pass_that_cannot_see_the_tolerance_says_how_many_more_runs_would():
    from harness.comparison import more_runs_to_see

    base = [result(samples(seed=1, cv=0.002))]
    v = compare_case(result(samples(seed=2, cv=0.002)), base, {"median": 0.02})
    m = v["metrics"]["median"]
    assert v["status"] == "pass" and m["mdc"] > 0.02
    more = v["more_runs"]
    assert 0 < more < 20 and f"about {more} more accepted runs would let it see" in v["reason"]
    # the same model judged against 1 + more runs (spread at the prior floor) sees 2 %,
    # one run fewer does not
    cur = RunEstimate(0.0, m["terms"]["current_var"] ** 0.5, 10, 400)
    w = RunEstimate(0.0, m["terms"]["baseline_var"] ** 0.5, 10, 400)
    for j, sees in ((1 + more, True), (more, False)):
        c = compare_to_baseline(cur, [w] * j, VerdictPolicy().prior(HOST_GRAPH, "median"))
        assert (detectable_change(c.se, c.df, m["mdc_level"]) <= 0.02) is sees
    assert more_runs_to_see(m["terms"], 1, 0.02, m["mdc_level"], cap=2) == 3   # beyond cap


def test_when_no_number_of_runs_would_see_the_tolerance_it_says_so():
    # host timing: the current run's own 8 % between-run term stays, whatever J
    base = [cpu_run(1.0, s) for s in range(5)]
    v = compare_case(cpu_run(1.0, 99), base, {"median": 0.05})
    assert v["status"] == "pass" and v["more_runs"] is None
    assert "even infinitely many accepted runs would not" in v["reason"]
    assert "trt-harness ab" in v["reason"]


# The README's third flow on the CI VM (recorded in session 10): five accepted runs of resnet b1 at
# 1.86, 2.81, 1.45, 1.14 and 1.50 ms, nothing else running. Their 2.5x spread hides a 3x.
FLOW3_ACCEPTED = (1.857, 2.810, 1.446, 1.144, 1.502)


def _quickstart(base, seed, tolerance=0.10, policy=None, level=1.5, first=None):
    """The quick-start matrix's seven host-timed cases, each at ``level`` ms (the first at
    ``first`` where given), judged together against the accepted runs ``base``."""
    policy = policy or VerdictPolicy()
    return finalize([evaluate_case(cpu_run(first if c == 0 and first else level, seed + c),
                                   base, tolerance, policy) for c in range(7)], policy)


def _flow3_base():
    return [cpu_run(x, 10 + j) for j, x in enumerate(FLOW3_ACCEPTED)]


def test_a_pass_that_could_not_see_a_3x_slowdown_is_undecided():
    from harness.baseline.verdict import exit_code

    before = VerdictPolicy(must_see=math.inf)
    for seed in range(3):
        old = _quickstart(_flow3_base(), 100 * seed, policy=before)[0]
        assert old["status"] == "pass" and exit_code([old]) == 0      # what flow 3 did
        v = _quickstart(_flow3_base(), 100 * seed)[0]
        assert v["status"] == "undecided" and exit_code([v]) == 3, v["reason"]
        assert "could not see a 3x slowdown" in v["reason"] and v["detects"] > 2.0
        assert v["more_runs"] is None and "no number of accepted runs would" in v["reason"]
        # 3x of a fast run (1.22 ms, as in flow 3): found or undecided, never green
        slow = _quickstart(_flow3_base(), 100 * seed + 50, first=3 * 1.22)[0]
        assert slow["status"] in ("regression", "undecided") and exit_code([slow]) != 0


def test_a_tolerance_wider_than_3x_is_the_bar_instead():
    # a quiet host-timed case whose t test alone (5 runs, Holm over 14 tests) sees about
    # +400 % with 95 % power, and whose scenario tolerates +500 %: it can see its own
    # tolerance, so it stays a pass; at +10 % it cannot see 3x; flow 3's spread cannot see
    # its +500 % either, and says which slowdown it could not see
    base = [cpu_run(1.1, 2000 + j) for j in range(5)]
    gross_off = VerdictPolicy(gross_factor=math.inf)       # the t test's MDC alone
    wide = _quickstart(base, 2050, 5.0, gross_off, level=1.1)
    m = wide[0]["metrics"]["median"]
    sees = detectable_change(m["se"], m["df"], m["mdc_level"], gross_off.must_see_power)
    assert 2.0 < sees <= 5.0
    assert [v["status"] for v in wide] == ["pass"] * 7
    tight = _quickstart(base, 2050, 0.1, gross_off, level=1.1)
    assert tight[0]["status"] == "undecided" and "see a 3x slowdown" in tight[0]["reason"]
    v = compare_case(cpu_run(1.5, 7), _flow3_base(), 5.0)
    assert v["status"] == "undecided" and "see a 6x slowdown" in v["reason"]


def test_a_pass_that_could_see_a_3x_slowdown_stays_green():
    # accepted runs within the host prior (flows 1 and 2): the gross-change rule would find a
    # 3x with at least the rule's 95 % power, so nothing changes
    for seed in range(3):
        base = [cpu_run(1.1, 1000 * seed + j) for j in range(5)]
        cases = _quickstart(base, 1000 * seed + 50, level=1.1)
        assert [v["status"] for v in cases] == ["pass"] * 7, cases[0]["reason"]
        assert all("detects" not in v for v in cases)


# -- item 8: creep across accepts ----------------------------------------------------------

def _noisy(levels, seed, cv=0.005):
    return np.asarray(levels) * np.exp(np.random.default_rng(seed).normal(0, cv, len(levels)))


@pytest.mark.parametrize("seed", range(10))
def test_a_3pct_step_after_run_6_of_12_is_found_there(seed):
    from harness.baseline.creep import detect_changes

    found = detect_changes(_noisy([1.0] * 6 + [1.03] * 6, seed))
    assert [(c.kind, c.start, c.end) for c in found] == [("step", 5, 6)]
    assert found[0].change == pytest.approx(0.03, abs=0.012)
    assert "between accepted runs #6 and #7" in found[0].describe()


@pytest.mark.parametrize("seed", range(20))
def test_a_flat_noisy_series_has_no_change(seed):
    from harness.baseline.creep import detect_changes

    assert detect_changes(_noisy([1.0] * 12, 100 + seed)) == []


@pytest.mark.parametrize("seed", range(10))
def test_slow_creep_is_flagged_as_a_cumulative_change(seed):
    from harness.baseline.creep import detect_changes

    # +0.5 % per accepted run over 10 runs: no run differs from the last by more than the
    # noise allows a verdict to call, but +4.6 % in all
    found = detect_changes(_noisy(1.005 ** np.arange(10), 200 + seed, cv=0.003))
    creep = [c for c in found if c.kind == "creep"]
    assert creep and (creep[0].start, creep[0].end) == (0, 9)
    assert 0.03 < creep[0].change < 0.065 and creep[0].p < 0.01


def test_potts_solution_and_weighted_median_match_asv():
    from harness.baseline.creep import _pieces_costs, solve_potts, weighted_median

    assert weighted_median(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4)) == 2.5
    assert weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 1.0, 5.0])) == 10.0
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    _, cost = _pieces_costs(y, np.ones(6))
    assert solve_potts(cost, 0.5) == [3, 6]          # one step: cheaper than its cost 3
    assert solve_potts(cost, 10.0) == [6]            # the penalty outweighs the fit


def test_baseline_history_prints_the_step(tmp_path):
    import json

    from harness.baseline.lifecycle import history

    meds = _noisy([1.0] * 6 + [1.03] * 6, 3)
    entries = [{"run_id": f"r{i:02d}", "accepted": f"2026-01-{i + 1:02d}",
                "stats_ms": {"median": float(m), "p99": float(m) * 1.1, "n": 100}}
               for i, m in enumerate(meds)]
    folder = tmp_path / "pid"
    folder.mkdir()
    (folder / "s.json").write_text(json.dumps(
        {"schema": "trt-harness/baseline/1", "platform_id": "pid", "scenario": "s",
         "platform": {}, "cases": {"s/case": entries}}))
    out = history(tmp_path, "pid", "*", 3)
    assert "change: step +" in out and "between accepted runs r05 and r06" in out


def test_history_plot_marks_the_step():
    from harness.report.view import history_view
    from harness.results import CaseResult

    meds = _noisy([1.0] * 6 + [1.03] * 6, 4)
    hist = [{"run_id": f"r{i}", "stats_ms": {"median": float(m)}} for i, m in enumerate(meds)]
    c = CaseResult(id="c", status="ok", case={}, stats_ms={"median": 1.03})
    view = history_view(c, hist)
    assert "stroke-dasharray" in str(view["plot"]) and "step +" in str(view["plot"])
    assert view["changes"] and view["changes"][0].startswith("step +")
