"""Clock-aware confirmation (issue 20, item 5): when NVML saw the two sides of a comparison at
different SM clocks, a timing verdict must hold in cycle space (time x clock) too, or the
comparison is "unstable" with the clocks in its reason. Simulated records, fixed seeds: a
compute-bound workload whose time is its cycles over the clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ab_records import synthetic

from harness.ab.verdict import judge
from harness.baseline.store import entry
from harness.baseline.verdict import compare_case
from harness.results import CaseResult, RunResult
from harness.stats import summarize
from harness.verdict.clocks import (
    CLOCK_DIFF_LIMIT,
    baseline_clock_mhz,
    check_metric,
    clock_reason,
    cycle_call,
    side_clocks_mhz,
    sm_clock_mhz,
)

FULL, CAPPED = 1980.0, 1755.0      # the H200 under load; a power-capped clock


def telemetry(mhz):
    return {"flagged_share": 0.0, "summary": {"sm_clock_mhz": {"min": mhz, "median": mhz,
                                                               "max": mhz}}}


def run(cycles=1.0, mhz=FULL, seed=0, n=400, cv=0.002):
    """A CUDA-graph-timed run of a workload taking ``cycles`` (in units of 1 ms at 1980 MHz)
    at the SM clock ``mhz``: its time scales as cycles / clock."""
    x = cycles * FULL / (mhz or FULL) * np.exp(np.random.default_rng(seed).normal(0, cv, n))
    return {"status": "ok", "samples_ms": x.tolist(), "stats_ms": summarize(x),
            "backend": {"name": "torch", "version": "2.11"}, "precision": "fp16",
            "timing": {"timer": "cuda-event", "cuda_graph": True},
            "telemetry": None if mhz is None else telemetry(mhz)}


def baseline(mhz=FULL, runs=5):
    return [run(1.0, mhz, seed=s) for s in range(runs)]


# -- the pure parts ---------------------------------------------------------------------
def test_clock_figures_are_read_from_results_entries_and_a_b_blocks():
    assert sm_clock_mhz(run(mhz=1965.0)) == 1965.0
    assert sm_clock_mhz({"sm_clock_mhz": 1950.0}) == 1950.0       # an accepted entry
    assert sm_clock_mhz(run(mhz=None)) is None and sm_clock_mhz(None) is None
    assert baseline_clock_mhz([{"sm_clock_mhz": 1980.0}, {}, {"sm_clock_mhz": 1950.0},
                               {"sm_clock_mhz": 1965.0}]) == 1965.0
    assert baseline_clock_mhz([{}, run(mhz=None)]) is None
    record = with_clocks(synthetic(0.0, seed=1), a_mhz=FULL, b_mhz=CAPPED)
    assert side_clocks_mhz(record) == {"A": FULL, "B": CAPPED}
    record["telemetry"] = None
    assert side_clocks_mhz(record) == {"A": None, "B": None}


def test_cycle_call_applies_the_time_rule_to_cycles():
    se, df = 0.002, 8
    assert cycle_call(math.log(1.10), se, df, 0.05, 0.005) == 1
    assert cycle_call(math.log(0.90), se, df, 0.05, 0.005) == -1
    assert cycle_call(math.log(1.03), se, df, 0.05, 0.005) == 0       # inside the tolerance
    assert cycle_call(math.log(1.10), 0.2, df, 0.05, 0.005) == 0      # not clear of noise
    m = {"status": "regression", "change": 0.128, "log_ratio": math.log(1.128), "se": se,
         "df": df, "tolerance": 0.05, "ci": [0.12, 0.136]}
    check = check_metric("median", m, FULL, CAPPED, 0.005)
    assert check.ratio == pytest.approx(CAPPED / FULL)
    assert check.cycle_change == pytest.approx(1.128 * CAPPED / FULL - 1)
    assert check.cycle_ci[0] == pytest.approx(1.12 * CAPPED / FULL - 1)
    assert check.differs and check.disagrees and check.cycle_call == 0
    assert clock_reason([check]).startswith("SM clock 1755 vs 1980 MHz (current vs baseline")
    # one NVML clock step (15 MHz, 0.76 %) apart differs; 7.5 MHz (a median between two
    # steps) does not
    assert check_metric("median", m, FULL, FULL - 15, 0.005).differs
    assert not check_metric("median", m, FULL, FULL - 7.5, 0.005).differs
    assert 7.5 / FULL < CLOCK_DIFF_LIMIT < 15 / FULL


# -- stored verdicts ----------------------------------------------------------------------
def test_a_slowdown_the_clock_explains_is_unstable_not_a_regression():
    # the same cycles at 1755 MHz: +12.8 % in time, nothing in cycles
    v = compare_case(run(1.0, CAPPED, seed=9), baseline())
    assert v["status"] == "unstable" and v["would_be"] == "regression"
    assert v["clock_ratio"] == pytest.approx(CAPPED / FULL)
    assert "SM clock 1755 vs 1980 MHz" in v["reason"]
    m = v["metrics"]["median"]
    assert m["change"] == pytest.approx(FULL / CAPPED - 1, abs=0.005)
    assert abs(m["cycle_change"]) < 0.005 and not m["confirmed_in_cycles"]


def test_a_slowdown_in_cycles_stands_at_a_different_clock():
    # +30 % in cycles, measured at 1755 MHz (+47 % in time): a regression either way
    v = compare_case(run(1.30, CAPPED, seed=9), baseline())
    assert v["status"] == "regression"
    assert v["clock_ratio"] == pytest.approx(CAPPED / FULL)
    m = v["metrics"]["median"]
    assert m["confirmed_in_cycles"] and m["cycle_change"] == pytest.approx(0.30, abs=0.01)


def test_a_clock_rise_that_hides_a_slowdown_is_not_a_silent_pass():
    # baseline at the capped clock; now 12.8 % more cycles at the full clock: time unchanged
    v = compare_case(run(FULL / CAPPED, FULL, seed=9), baseline(CAPPED))
    assert v["status"] == "unstable" and v["would_be"] == "pass"
    assert "SM clock 1980 vs 1755 MHz" in v["reason"] and "+12.8" in v["reason"] \
        and "(within the tolerance) but" in v["reason"]


def test_equal_clocks_change_nothing_and_cpu_verdicts_carry_no_clock():
    v = compare_case(run(1.10, FULL - 5, seed=9), baseline())    # within one clock step
    assert v["status"] == "regression" and v["clock_ratio"] == pytest.approx(1975 / 1980)
    assert "cycle_change" not in v["metrics"]["median"]
    assert compare_case(run(1.0, FULL, seed=9), baseline())["status"] == "pass"
    v = compare_case(run(1.10, None, seed=9), [run(1.0, None, seed=s) for s in range(5)])
    assert v["status"] == "regression" and "clock_ratio" not in v


def test_the_gross_change_rule_is_confirmed_in_cycles_too():
    # one noisy accepted run: a 10x slowdown is called by the gross rule, not the t test;
    # at a 10 % lower clock it is still 9x in cycles, and stands
    cur = run(10.0, FULL * 0.9, seed=9, cv=0.05)
    base = [run(1.0, FULL, seed=0, cv=0.05), run(1.5, FULL, seed=1, cv=0.05)]
    v = compare_case(cur, base)
    assert v["status"] == "regression"
    assert v["metrics"]["median"]["confirmed_in_cycles"]


def test_an_accepted_entry_keeps_the_run_clock():
    r = run(mhz=1965.0)
    case = CaseResult(id="s/m/torch/fp16/b8", status="ok", case={}, backend=r["backend"],
                      samples_ms=r["samples_ms"], stats_ms=r["stats_ms"],
                      telemetry=r["telemetry"])
    e = entry(RunResult(run_id="r1", started="2026-01-01T00:00:00+00:00", platform={},
                        platform_id="p1", cases=[case]), case)
    assert e["sm_clock_mhz"] == 1965.0 and sm_clock_mhz(e) == 1965.0


# -- A/B verdicts -------------------------------------------------------------------------
def with_clocks(record, a_mhz, b_mhz, offset=5.0, interval=0.02):
    """The NVML sampler of an interleaved phase: it marks each block as it starts (on its own
    clock, ``offset`` s ahead of the record's) and samples every ``interval`` s; inside a
    block the SM clock is that side's."""
    phases, spans = {}, []
    for blk in record["blocks"]:
        start = blk["t_s"] + offset
        phases[f"{blk['side']}{blk['pair']}"] = start
        spans.append((start, start + blk["t_end_s"] - blk["t_s"], blk["side"]))
    t = np.arange(0.0, spans[-1][1] + 0.1, interval)
    clock = {"A": a_mhz, "B": b_mhz}
    sm = [next((clock[s] for lo, hi, s in spans if lo <= ti <= hi), 1500.0) for ti in t]
    record["telemetry"] = {"flagged_share": 0.0, "phases": phases,
                           "samples": {"t_s": t.tolist(), "sm_clock_mhz": sm}}
    return record


def ab(shift, a_mhz, b_mhz, seed=3):
    """B's cycles ``shift`` above A's, B timed at ``b_mhz`` and A at ``a_mhz``."""
    time_shift = (1 + shift) * a_mhz / b_mhz - 1
    record = with_clocks(synthetic(time_shift, seed, pairs=24), a_mhz, b_mhz)
    record["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
    judge([record])
    return record["verdict"]


def test_ab_slower_only_by_the_clock_is_unstable():
    v = ab(0.0, FULL, CAPPED)
    assert v["status"] == "unstable" and "SM clock 1755 vs 1980 MHz (B vs A" in v["reason"]
    assert v["clock_ratio"] == pytest.approx(CAPPED / FULL)
    m = v["metrics"]["median"]
    assert m["status"] == "unstable" and m["would_be"] == "slower"
    assert v["metrics"]["throughput"]["status"] == "unstable"


def test_ab_verdicts_at_equal_or_explaining_clocks_stand():
    v = ab(0.05, FULL, CAPPED)             # +5 % in cycles, +18 % in time: slower either way
    assert v["status"] == "slower" and v["metrics"]["median"]["confirmed_in_cycles"]
    v = ab(0.05, FULL, FULL)
    assert v["status"] == "slower" and v["clock_ratio"] == 1.0
    assert ab(0.0, FULL, FULL)["status"] == "same"
    # B 12.8 % more cycles at a clock 12.8 % higher: "same" in time, slower in cycles
    v = ab(FULL / CAPPED - 1, CAPPED, FULL)
    assert v["status"] == "unstable" and "slower" in v["reason"]
