"""Verdict rules beyond the median: gated metrics, unstable, engine identity, the matrix-wide
correction, the baseline lifecycle and the pytest-benchmark export."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from harness.baseline.engine_diff import layer_changes
from harness.baseline.store import BaselineStore
from harness.baseline.verdict import (
    DEFAULT_POLICY,
    VerdictPolicy,
    compare_case,
    evaluate_case,
    finalize,
)
from harness.errors import ConfigError
from harness.export import to_pytest_benchmark, write_pytest_benchmark
from harness.results import CaseResult, RunResult
from harness.stats import summarize


def result(samples, **kw):
    x = np.asarray(samples, dtype=float)
    base = {"status": "ok", "samples_ms": x.tolist(), "stats_ms": summarize(x),
            "backend": {"name": "tensorrt", "version": "10.9"}, "precision": "fp16",
            "timing": {"timer": "cuda-event", "cuda_graph": True}}
    base.update(kw)
    return base


def samples(level=1.0, seed=0, n=400, cv=0.002):
    return level * np.exp(np.random.default_rng(seed).normal(0, cv, n))


def test_gated_metrics_each_with_direction():
    base = result(samples(), build={"engine_bytes": 1000, "build_time_s": 10.0},
                  memory={"device_bytes": 5000}, accuracy={"rel_l2": 0.001})
    cur = result(samples(seed=1), build={"engine_bytes": 1100, "build_time_s": 10.5},
                 memory={"device_bytes": 4000}, accuracy={"rel_l2": 0.05})
    v = compare_case(cur, [base])
    m = v["metrics"]
    assert m["engine_bytes"]["status"] == "regression"           # +10 % > 1 %
    assert m["device_bytes"]["status"] == "improvement"          # -20 %
    assert m["accuracy"]["status"] == "regression"               # +0.049 > 0.01 absolute
    assert m["build_time_s"]["status"] == "pass"                 # +5 % < 50 %
    assert m["median"]["status"] == "pass" and m["throughput"]["status"] == "pass"
    assert v["status"] == "regression" and "engine_bytes" in v["reason"]


def test_build_only_case_gates_build_metrics():
    base = {"status": "ok", "backend": {"name": "tensorrt-rtx", "version": "1.7"},
            "precision": "fp16", "build": {"engine_bytes": 1000, "build_time_s": 0.2}}
    cur = dict(base, build={"engine_bytes": 1000, "build_time_s": 0.6})
    v = compare_case(cur, [base])
    # +200 % build time, but below the 0.5 s floor: no alarm; sizes equal
    assert v["status"] == "pass" and v["metrics"]["build_time_s"]["status"] == "pass"
    cur = dict(base, build={"engine_bytes": 2000, "build_time_s": 0.2})
    assert compare_case(cur, [base])["status"] == "regression"


def test_unstable_throttled_voids_a_timing_regression():
    slow = result(samples(1.2, seed=1), telemetry={"flagged_share": 0.3})
    v = compare_case(slow, [result(samples())])
    assert v["status"] == "unstable" and "throttled" in v["reason"]
    few = result(samples(1.0, seed=1, n=8))
    v = compare_case(few, [result(samples())])
    assert v["status"] == "unstable" and "too few samples" in v["reason"]
    policy = VerdictPolicy(unstable_fails=True)
    assert "unstable" in policy.fail_on()


def test_enqueue_bound_runs_need_several_accepted_runs():
    """Host-bound (enqueue-bound) GPU timing moves between runs like host timing (H100: torch
    eager run medians 4.4-8.5 ms): against one accepted run it is "unstable", never a false
    regression; against several, their own spread is the noise and a gross change still
    shows."""
    bound = {"timer": "cuda-event", "cuda_graph": False, "enqueue_bound": True}
    runs = [result(samples(lvl, seed=i, cv=0.05), timing=bound)
            for i, lvl in enumerate((1.0, 1.3, 0.9, 1.2, 1.05))]
    cur = result(samples(1.4, seed=9, cv=0.05), timing=bound)
    v = compare_case(cur, runs[:1])
    assert v["status"] == "unstable" and "enqueue-bound" in v["reason"]
    assert compare_case(cur, runs)["status"] == "pass"          # +40 % is within their spread
    doubled = result(samples(3.0, seed=9, cv=0.05), timing=bound)
    assert compare_case(doubled, runs)["status"] == "regression"
    # the same +40 % with GPU-paced timing and one run: a regression, as before
    gpu = {"timer": "cuda-event", "cuda_graph": False}
    assert compare_case(result(samples(1.4, seed=9, cv=0.05), timing=gpu),
                        [result(samples(1.0, seed=0, cv=0.05), timing=gpu)])["status"] \
        == "regression"


def test_regression_needs_significance_and_tolerance():
    base = [result(samples(seed=s)) for s in range(5)]
    assert compare_case(result(samples(1.10, seed=9)), base)["status"] == "regression"
    # +3 %: clearly measured but inside the 5 % tolerance
    v = compare_case(result(samples(1.03, seed=9)), base)
    assert v["status"] == "pass" and v["change"] == pytest.approx(0.03, abs=0.005)
    assert v["ci"][0] < v["change"] < v["ci"][1] and v["mdc"] > 0
    # tolerance 0: a statistically clear +3 % is a regression
    assert compare_case(result(samples(1.03, seed=9)), base, {"median": 0.0})["status"] \
        == "regression"


def test_matrix_correction_shares_the_budget():
    # one case at the edge of significance judged alone vs among 50 null cases
    base = [result(samples(seed=s, cv=0.001)) for s in range(3)]
    edge = result(samples(1.012, seed=10, cv=0.001))
    alone = compare_case(edge, base, {"median": 0.0})
    crowd = [evaluate_case(result(samples(seed=100 + i, cv=0.001)), base, {"median": 0.0})
             for i in range(49)]
    mine = evaluate_case(edge, base, {"median": 0.0})
    *_, mine = finalize([*crowd, mine])
    m = mine["metrics"]["median"]
    assert m["p_slower_adjusted"] > alone["metrics"]["median"]["p_slower_adjusted"]
    assert m["tests"] == 100                                     # 50 cases x (median, p99)


def test_incomparable_names_what_differs():
    base = result(samples())
    cur = result(samples(), backend={"name": "tensorrt", "version": "10.11"})
    v = compare_case(cur, [base])
    assert v["status"] == "incomparable" and "10.9 now 10.11" in v["reason"]


def test_engine_identity_names_layer_changes():
    layers_a = [{"name": "conv1", "type": "Convolution", "precision": "FP32", "tactic": "t1"},
                {"name": "relu1", "type": "Activation", "precision": "FP32", "tactic": "t2"}]
    layers_b = [{"name": "conv1", "type": "Convolution", "precision": "FP16", "tactic": "t9"},
                {"name": "fused", "type": "Activation", "precision": "FP16", "tactic": "t2"}]
    diff = layer_changes(layers_a, layers_b)
    assert diff["precision"] == ["conv1 FP32->FP16"] and diff["tactic"] == ["conv1"]
    assert diff["added"] == ["fused"] and diff["removed"] == ["relu1"]
    base = result(samples(), build={"fingerprint": "aaaa" * 4}, layers=layers_a)
    cur = result(samples(1.2, seed=3), build={"fingerprint": "bbbb" * 4}, layers=layers_b)
    v = compare_case(cur, [base])
    assert v["engine"]["changed"] and "precision changed: conv1 FP32->FP16" in v["reason"]
    assert v["status"] == "regression"


# -- lifecycle ---------------------------------------------------------------------------
def _run(run_id, level=1.0, version="1", started="2026-01-01T00:00:00+00:00", cpu="cpu-a"):
    x = samples(level, seed=hash(run_id) % 1000)
    case = CaseResult(id="s/m/onnxruntime/fp32/b1", status="ok",
                      case={"scenario": "s", "precision": "fp32", "batch": 1,
                            "stop": {"min_samples": 20, "max_time": 3.0, "min_time": 0.2}},
                      backend={"name": "onnxruntime", "version": version},
                      samples_ms=x.tolist(), stats_ms=summarize(x), throughput=1e3)
    return RunResult(run_id=run_id, started=started,
                     platform={"host": {"cpu": cpu, "cores": 2, "machine": "x"}, "gpu": None},
                     platform_id="p1", cases=[case], complete=True,
                     finished=started)


def test_accept_several_history_prune_and_replace(tmp_path):
    from harness import api
    from harness.baseline import lifecycle

    files = []
    for i in range(4):
        p = tmp_path / f"r{i}.json"
        p.write_text(json.dumps(_run(f"r{i}", started=f"2026-01-0{4 - i}T00:00:00+00:00")
                                .to_json()))
        files.append(p)
    api.accept(files, tmp_path / "b", keep=3)
    store = BaselineStore(tmp_path / "b")
    hist = store.history("p1")["s/m/onnxruntime/fp32/b1"]
    # accepted oldest first by start time, 3 kept: r2, r1, r0
    assert [e["run_id"] for e in hist] == ["r2", "r1", "r0"]
    assert "median" in hist[-1]["estimates"] and hist[-1]["estimates"]["median"]["blocks"] == 10
    assert "last 2" in lifecycle.history(tmp_path / "b", "p1", "*", 2)
    assert "3 run(s)" in lifecycle.show(tmp_path / "b", "p1")
    assert "removed 2" in lifecycle.prune(tmp_path / "b", "p1", keep=1)
    assert len(store.history("p1")["s/m/onnxruntime/fp32/b1"]) == 1
    # a new backend version: refused, then accepted as a fresh history with replace
    with pytest.raises(ConfigError, match="version 1 -> 2"):
        store.accept(_run("v2", version="2"))
    store.accept(_run("v2", version="2"), replace=True)
    assert [e["run_id"] for e in store.history("p1")["s/m/onnxruntime/fp32/b1"]] == ["v2"]
    assert lifecycle.prune(tmp_path / "b", "p1", keep=0) == \
        "s/m/onnxruntime/fp32/b1: removed 1 entry"


def test_platform_mismatch_is_refused_with_the_difference(tmp_path):
    store = BaselineStore(tmp_path)
    store.accept(_run("a"))
    with pytest.raises(ConfigError, match="host cpu: 'cpu-a' vs 'cpu-b'"):
        store.accept(_run("b", cpu="cpu-b"))


def test_export_reads_in_pytest_benchmark(tmp_path):
    run = _run("r1")
    doc = to_pytest_benchmark(run)
    [bench] = doc["benchmarks"]
    assert bench["stats"]["median"] == pytest.approx(run.cases[0].stats_ms["median"] / 1e3)
    store = tmp_path / ".benchmarks" / "p1"
    write_pytest_benchmark(run, store / "0001_base.json")
    write_pytest_benchmark(_run("r2", 1.1), store / "0002_now.json")
    # pytest-benchmark's own loader ...
    from pytest_benchmark.logger import Logger
    from pytest_benchmark.storage.file import FileStorage

    fs = FileStorage(tmp_path / ".benchmarks", Logger(level=Logger.QUIET))
    loaded = list(fs.load_benchmarks())
    assert len(loaded) == 2 and {b["fullname"] for b in loaded} == {run.cases[0].id}
    # ... and its CLI
    out = subprocess.run([sys.executable, "-m", "pytest_benchmark", "--storage",
                          f"file://{tmp_path / '.benchmarks'}", "compare", "--columns",
                          "median,rounds"], capture_output=True, text=True, check=True)
    assert "0001_base" in out.stdout and "0002_now" in out.stdout


def test_stored_tolerance_default_follows_how_the_case_was_timed():
    """Median and throughput: 1 % where the run's replicates are random layouts (the layout
    spread is measured in every run), 5 % otherwise; a scenario's value always wins, and an
    unset one (None) never overrides."""
    from harness.baseline.verdict import LAYOUTS_TIMING_TOLERANCE, case_tolerance

    layouts = {"timing": {"layout_figures": [{"median_ms": 1.0}, {"median_ms": 1.01}]}}
    assert case_tolerance(layouts, None)["median"] == LAYOUTS_TIMING_TOLERANCE == 0.01
    assert case_tolerance(layouts, None)["throughput"] == 0.01
    assert case_tolerance({"timing": {}}, None)["median"] == 0.05
    given = case_tolerance(layouts, {"median": 0.03, "throughput": None, "p99": 0.2})
    assert given["median"] == 0.03 and given["throughput"] == 0.01
    assert case_tolerance(layouts, 0.02)["median"] == 0.02
    # an ONNX Runtime case given timing.layouts: repeated preparations on a host timer, not
    # random layouts; it keeps the host-timed default
    ort = {"timing": {"timer": "host", "layout_figures": [
        {"median_ms": 1.0, "applied": False}, {"median_ms": 1.01, "applied": False}]}}
    assert case_tolerance(ort, None)["median"] == 0.05
    from harness.scenario.schema import Tolerance

    assert Tolerance().median is None and Tolerance(median="2%").median == 0.02


def _layout_result(seed, layouts, level=1.0):
    """A run of ``layouts`` random layouts (each its own 0.3 % offset), its figures recorded
    as the runner records them, and its stored estimate as ``baseline accept`` stores it."""
    rng = np.random.default_rng(seed)
    parts = [samples(level * np.exp(0.003 * rng.standard_normal()), seed=seed * 100 + i, n=100)
             for i in range(layouts)]
    figures = [{"n": len(p), "median_ms": float(np.median(p)),
                "p99_ms": float(np.percentile(p, 99))} for p in parts]
    return result(np.concatenate(parts), timing={"timer": "cuda-event", "cuda_graph": True,
                                                 "layout_figures": figures})


def test_the_layout_rule_needs_layouts_on_both_sides_not_the_same_count():
    """Runs over 4 and 6 layouts are judged together by the layout rule (the layout spread is
    pooled per replicate); an accepted run of one layout (or an entry from before layouts
    were its estimate's replicates) puts the comparison back on the floor rule."""
    from harness.baseline.store import entry
    from harness.baseline.verdict import _prior, estimate

    def accepted(res):
        c = CaseResult(id="s/m/torch/fp16/b8", status="ok", case={}, samples_ms=res["samples_ms"],
                       stats_ms=res["stats_ms"], timing=res["timing"], backend=res["backend"])
        return entry(RunResult(run_id="r", started="now", scenarios=[], platform={},
                               platform_id="p"), c)

    cur = _layout_result(1, 4)
    mixed = [accepted(_layout_result(s, n)) for s, n in ((2, 4), (3, 6), (4, 4))]
    est = [estimate(x, "median", 10) for x in mixed]
    policy = VerdictPolicy()
    assert not _prior(cur, estimate(cur, "median", 10), mixed, est, "median", policy).floor
    one = accepted(result(samples(seed=9)))
    with_one = [*mixed, one]
    est1 = [*est, estimate(one, "median", 10)]
    assert _prior(cur, estimate(cur, "median", 10), with_one, est1, "median", policy).floor
    # layouts a backend did not place (applied false): the timer's prior, as a floor
    unplaced = {**cur, "timing": {**cur["timing"], "layout_figures": [
        {**x, "applied": False} for x in cur["timing"]["layout_figures"]]}}
    unplaced_est = [{**m, "timing": {**m["timing"], "layout_figures": [
        {**x, "applied": False} for x in m["timing"]["layout_figures"]]}} for m in mixed]
    assert _prior(unplaced, estimate(unplaced, "median", 10), unplaced_est, est, "median",
                  policy).floor
    v = evaluate_case(cur, [{**m, "precision": "fp16"} for m in mixed])
    assert v.metrics["median"]["tolerance"] == 0.01, v.reason
    # throughput at the same resolved default, judged alone as in a matrix
    done = compare_case(cur, [{**m, "precision": "fp16"} for m in mixed])
    assert done.metrics["throughput"].tolerance == 0.01
    assert "throughput_tolerance" not in done.to_json()


def test_a_run_over_layouts_is_estimated_by_its_trimmed_mean():
    """A few layouts far out (shufflenet_v2_x1_0's slow ones, 4-5.5 %) move a run's mean by
    how many it drew; the 20 %-trimmed mean over layouts does not follow one. At 4 layouts it
    cuts nothing (the mean). An entry accepted before the trim is re-estimated from its
    figures; one accepted with it is read as stored."""
    from harness.baseline.store import entry
    from harness.baseline.verdict import LAYOUT_TRIM, estimate
    from harness.stats import trimmed_mean

    def with_outlier(res, factor):
        figs = [dict(x) for x in res["timing"]["layout_figures"]]
        figs[3]["median_ms"] *= factor
        return {**res, "timing": {**res["timing"], "layout_figures": figs}}

    plain = _layout_result(5, 10)
    far = with_outlier(plain, 1.06)
    logs = np.log([x["median_ms"] for x in far["timing"]["layout_figures"]])
    e_plain, e_far = estimate(plain, "median", 10), estimate(far, "median", 10)
    assert e_far.log_value == pytest.approx(trimmed_mean(logs, LAYOUT_TRIM)[0])
    assert abs(e_far.log_value - e_plain.log_value) < 0.002 < logs.mean() - np.mean(
        np.log([x["median_ms"] for x in plain["timing"]["layout_figures"]]))
    four = _layout_result(6, 4)
    logs4 = np.log([x["median_ms"] for x in four["timing"]["layout_figures"]])
    assert estimate(four, "median", 10).log_value == pytest.approx(logs4.mean())
    assert estimate(four, "median", 10).within_se == pytest.approx(logs4.std(ddof=1) / 2)

    c = CaseResult(id="s/m/torch/fp16/b8", status="ok", case={}, samples_ms=far["samples_ms"],
                   stats_ms=far["stats_ms"], timing=far["timing"], backend=far["backend"])
    accepted = entry(RunResult(run_id="r", started="now", scenarios=[], platform={},
                               platform_id="p"), c)
    assert accepted["estimates"]["median"]["layout_trim"] == LAYOUT_TRIM
    assert estimate(accepted, "median", 10).log_value == pytest.approx(e_far.log_value)
    # accepted before the trim: its stored mean is not used, its sampling error is
    old = {**accepted, "estimates": {"median": {**accepted["estimates"]["median"],
                                                "log_value": float(logs.mean())}}}
    del old["estimates"]["median"]["layout_trim"]
    again = estimate(old, "median", 10)
    assert again.log_value == pytest.approx(e_far.log_value)
    assert again.sampling_se == pytest.approx(accepted["estimates"]["median"]["sampling_se"])


def test_an_autotuned_case_says_a_change_may_be_the_autotuners():
    """cudnn.benchmark on (torch's build note): cuDNN's algorithm choice is a process-level
    term, so a timing change is reported with that caveat; off, no caveat."""
    notes = {"notes": ["mode=graph dtype=torch.float16 cudnn.benchmark=True tf32=False"]}
    base = [result(samples(seed=s), build=notes) for s in range(5)]
    slow = result(samples(1.2, seed=9), build=notes)
    v = compare_case(slow, base)
    assert v["status"] == "regression" and "autotuned (cudnn.benchmark on)" in v["reason"]
    pinned = {"notes": [notes["notes"][0].replace("True", "False")]}
    v = compare_case(result(samples(1.2, seed=9), build=pinned),
                     [result(samples(seed=s), build=pinned) for s in range(5)])
    assert v["status"] == "regression" and "autotuned" not in v["reason"]
    assert "autotuned" not in compare_case(result(samples(seed=9), build=notes), base)["reason"]


def _seeded(first, logs, level=1.0):
    """A run whose layouts were drawn at seeds ``first, first + 1, ...`` with these log
    offsets (figures as the runner records them; the samples matter only for the sample
    count)."""
    figures = [{"seed": first + i, "applied": True, "n": 100,
                "median_ms": level * math.exp(x), "p99_ms": level * math.exp(x) * 1.01}
               for i, x in enumerate(logs)]
    return result(samples(level, n=100 * len(logs)), timing={
        "timer": "cuda-event", "cuda_graph": True, "layout_figures": figures})


def test_replayed_layouts_are_judged_layout_by_layout():
    """Accepted runs that drew the current run's seeds are paired with it over the layouts
    all of them have; entries with other seeds are left out of the pairing; without any
    such entry (or without seeds) the unpaired layout rule judges. A +2 % change on
    layouts 1.5 % apart is found with an interval a fraction of the unpaired rule's."""
    from harness.baseline.verdict import paired_layouts

    rng = np.random.default_rng(4)
    bias = 0.015 * rng.standard_normal(8)
    def replay(shift=0.0, n=8):
        return list(bias[:n] + shift + 0.0005 * rng.standard_normal(n))

    entries = [{**_seeded(300, replay(), 1.0), "precision": "fp16"} for _ in range(4)]
    entries.insert(1, {**_seeded(900, list(0.015 * rng.standard_normal(8))),
                       "precision": "fp16"})
    entries.append({**_seeded(300, replay(n=6)), "precision": "fp16"})
    cur = _seeded(300, replay(math.log(1.02)))
    now, before, _ = paired_layouts(cur, entries, "median")
    # 8 layouts from 4 runs ((1 + 1/4) / 8) beat 6 from 5 ((1 + 1/5) / 6)
    assert len(before) == 4 and len(now) == 8 and all(len(r) == 8 for r in before)
    short = [e if i != 2 else {**_seeded(300, replay(n=3))} for i, e in enumerate(entries)]
    now, before, _ = paired_layouts(cur, short[:3] + short[5:], "median")   # 8, 3, 6 layouts
    assert len(now) == 6 and len(before) == 2
    v = compare_case(cur, entries)
    med = v.metrics["median"]
    assert med["method"] == "paired-layouts" and med["replicates"] == 4
    assert v.status == "regression", v.reason
    assert "8 layouts paired with 4 accepted runs" in v.reason
    assert med.change == pytest.approx(0.02, abs=0.002)
    # the same figures without their seeds: the unpaired rule, layouts' spread and all
    def forget(r):
        return {**r, "timing": {**r["timing"], "layout_figures": [
            {**x, "seed": None} for x in r["timing"]["layout_figures"]]}}
    u = compare_case(forget(cur), [forget(e) for e in entries])
    assert u.metrics["median"]["method"] == "baseline-runs"
    assert med["mdc"] < u.metrics["median"]["mdc"] / 3
    # accepted runs with other cases before them drew other layouts: paired only with
    # those prepared after the same cases, where there are any
    def within(r, context):
        return {**r, "timing": {**r["timing"], "layout_context": context}}
    mixed = [within(e, "a" if i % 2 else "b") for i, e in enumerate(entries)]
    now, before, same = paired_layouts(within(cur, "a"), mixed, "median")
    assert len(before) == 2 and same     # entries 3 and 5 (entry 1 drew other seeds)
    # none prepared after the same: paired on the seeds alone (broken pairs widen it), and
    # the verdict says so: a shift of all the layouts together is not in its interval
    alone = paired_layouts(within(cur, "c"), mixed, "median")
    assert len(alone.baseline) == 4 and not alone.same_context
    seeds = compare_case(within(cur, "c"), mixed)
    assert seeds.metrics["median"]["paired_on"] == "seeds"
    assert "on the seeds alone (other cases ran before it" in seeds.reason
    same = compare_case(within(cur, "a"), [within(e, "a") for e in entries])
    assert same.metrics["median"]["paired_on"] == "context" and "seeds alone" not in same.reason
    # ...and so where fewer than the policy's min_context_runs (3) share it: two runs'
    # spread would be taken as measured with one degree of freedom
    assert len(paired_layouts(within(cur, "a"), mixed, "median", min_context=3)[1]) == 4
    assert DEFAULT_POLICY.min_context_runs == 3
    # no accepted run drew these seeds: unpaired
    assert paired_layouts(_seeded(301, replay()), entries, "median") is None
