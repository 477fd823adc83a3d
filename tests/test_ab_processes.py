"""``ab --processes`` (harness.ab.processes): A and B in alternate fresh processes at one set
of layout seeds, judged layout by layout; and benchmarks/ab_processes.py, which measured it on
the H200 before it was built in and re-judges those runs with ab's verdict."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from benchmark_modules import ROOT, load

from harness.ab.measure import ABInterrupted, ABSettings
from harness.ab.processes import _conclude, as_round, side_case, side_order
from harness.ab.verdict import judge, layouts_set_interval
from harness.adhoc import bench_case
from harness.cli import build_parser, main
from harness.errors import ConfigError
from harness.scenario.expand import Case
from harness.scenario.load import load_scenario
from harness.stats import summarize

ab_processes = load("ab_processes")
process_model = load("process_model")
MOVED, process_record, simulate = (process_model.MOVED, process_model.process_record,
                                   process_model.simulate)


# One small ONNX Runtime case, 3 layouts (repeated preparations: the CPU places no memory)
# of a short stop rule: real side processes of a few seconds each.
ORT_TF = """
    name = "abp"
    [defaults]
    backends = ["onnxruntime"]
    batch = [1]
    timing = { layouts = 3 }
    stop = { min_time = "0.1s", max_time = "0.2s" }
    warmup = { min_time = "20ms", max_time = "100ms" }
    [[model]]
    id = "tf"
    source = "zoo:transformer"
    shapes = "input_ids:1x8"
"""


def test_process_pairs_call_a_change_the_layouts_hid_and_widen_where_they_broke():
    """On simulated replays (layouts 1.2 % apart, as squeezenet1_1's; a replay repeats a
    layout to 0.05 %), ab's verdict on a process-paired record: +1 % "slower", A/A "same";
    where B's layouts moved (B allocates differently) an A/A is not called a change: the
    broken pairs' spread widens the interval."""
    assert side_order(3) == ["A", "B", "B", "A", "A", "B"]
    rng = np.random.default_rng(5)
    bias = 0.012 * rng.standard_normal(4)

    def runs(shift, layouts=bias):
        return [list(layouts + shift + 0.0005 * rng.standard_normal(4)) for _ in range(4)]

    a = runs(0.0)
    slower, same = process_record(a, runs(math.log(1.01))), process_record(a, runs(0.0))
    # an A/A whose B allocates differently: B's k-th layout is another placement
    moved = process_record(a, runs(0.0, 0.012 * rng.standard_normal(4)))
    v_slow, v_same, v_moved = judge([slower, same, moved])
    assert v_slow.status == "slower" and v_same.status == "same"
    assert v_moved.status in ("undecided", "same")
    assert v_moved.metrics["median"]["se"] > 5 * v_slow.metrics["median"]["se"]
    m = v_slow.metrics["median"]
    assert m["method"] == "paired-runs" and list(m["runs"]) == [4, 4] and m["layouts"] == 4
    # the undecided advice speaks of processes, the unit this design adds
    short = process_record(a[:2], runs(math.log(1.004))[:2])
    [v] = judge([short])
    assert v.status != "undecided" or "--processes" in v.reason


def test_a_side_short_of_two_runs_fails_and_a_failed_round_is_kept():
    rng = np.random.default_rng(1)
    rows = [list(0.01 * rng.standard_normal(4)) for _ in range(3)]
    record = process_record(rows, rows)
    for r in record["rounds"]:          # A1 B1 B2 A2 A3 B3: B keeps one run
        if (r["side"], r["round"]) in {("A", 2), ("B", 2), ("B", 3)}:
            r.update(status="failed", error="CUDA error")
    _conclude(record)
    assert record["status"] == "failed" and "fewer than 2 process pairs" in record["error"]
    assert "A2: CUDA error" in record["warnings"]
    [v] = judge([record])
    assert v.status == "failed"


def test_a_round_of_a_cuda_timed_case_keeps_the_median_of_its_enqueue_summary():
    """A CUDA-event case records its host enqueue times as a summary (what
    harness.timing.cuda records); a round keeps their median, so the record's pace per side is
    a figure the verdict can compare (found on the H200: the summaries went to a median)."""
    rng = np.random.default_rng(2)
    record = process_record([list(0.01 * rng.standard_normal(3))] * 2,
                            [list(0.01 * rng.standard_normal(3))] * 2)
    for r in record["rounds"]:
        enqueue = [0.05, 0.06, 0.07] if r["side"] == "A" else [0.5, 0.6, 0.7]
        result = {"status": "ok", "timing": {
            "timer": "cuda-event", "layout_figures": r["layout_figures"],
            "enqueue_ms": summarize(enqueue), "enqueue_bound": r["side"] == "B"}}
        r.update(as_round(result, r["side"], r["round"], 1.0))
    _conclude(record)
    assert record["timing"]["enqueue_ms"] == {"A": 0.06, "B": 0.6}
    assert record["timing"]["enqueue_bound"] == ["B"]


def test_a_side_case_draws_the_common_seeds_in_at_least_three_layouts_over_its_pairs_base():
    case = bench_case("zoo:transformer", shapes="input_ids:1x8")
    a = side_case(replace(case, id="A:x"), 7, 1)
    b = side_case(replace(case, id="B:x", history_layout_seed=123, history_layouts=9), 7, 1)
    assert a.id == b.id and a.layout_seed == b.layout_seed == 7
    assert b.history_layout_seed is None and b.history_layouts is None
    assert a.timing.layouts == b.timing.layouts >= 3
    # A's and B's k-th processes share a base pad; the next pair draws another
    later = side_case(replace(case, id="A:x"), 7, 2)
    assert a.layout_base == b.layout_base > 0 and later.layout_base != a.layout_base
    assert Case.from_json(json.loads(json.dumps(a.to_json()))).layout_base == a.layout_base
    from harness.backends import backend_class
    from harness.runner import case_layouts

    cls = backend_class(a.backend)
    la, lb = case_layouts(a, cls), case_layouts(b, cls)
    assert [(x.seed, x.base) for x in la] == [(x.seed, x.base) for x in lb]
    # the base is held first, before the weights only
    assert la[0].pads("weights")[0] == a.layout_base and len(la[0].pads("buffers")) == 2


def test_process_pairs_at_their_own_bases_measure_a_shift_of_all_of_bs_layouts():
    """Session 18, H200: with B's preparations moved by an extra allocation, all of B's
    layouts can shift together (squeezenet1_1: -2.4 % "faster" in an A/A at one base). With a
    base pad per process pair the shift is drawn anew in each pair (here 1.5 % apart, as
    squeezenet1_1's two layout modes are 3 % apart): the pairs disagree and the comparison is
    not called; where the sides allocate alike the same pairs still call +1 %."""
    rng = np.random.default_rng(18)
    bias = 0.012 * rng.standard_normal(4)
    pairs = 3

    def runs(shifts):
        return [list(bias + s + 0.0005 * rng.standard_normal(4)) for s in shifts]

    a = runs([0.0] * pairs)
    moved = process_record(a, runs(0.015 * rng.standard_normal(pairs)))
    slower = process_record(a, runs([math.log(1.01)] * pairs))
    v_moved, v_slow = judge([moved, slower])
    assert v_moved.status == "undecided" and v_slow.status == "slower"
    med = v_moved.metrics["median"]
    assert med["terms"]["between_df"] == pairs - 1 and med["between_run_cv"] > 0.005
    # the reason says why so many processes would be needed: the layouts did not cancel
    assert "did not cancel pair by pair" in v_moved.reason


# Session 19, H200, squeezenet1_1, ab --processes 3, an A/A with B's preparations after an
# extra 33.5 MiB (docs/device-runs/session19/panel-2-p3-s19a.json, trial 4): B less A per
# layout (log) in each process pair. Pairs 2 and 3 drew bases in one 2 MiB segment.
MOVED_AA_S19 = np.log1p(np.array([[-3.48, -0.41, -0.33, 0.25], [-1.25, -3.40, -1.42, -3.00],
                                  [-1.41, -3.48, -1.81, -2.73]]) / 100)


def test_a_moved_a_a_whose_pairs_disagree_is_judged_on_the_pairs_not_called():
    """That trial read "faster" -1.85 % [-2.91, -0.78] on the crossed terms (the layouts'
    9 degrees of freedom lent to the pairs'); its three pairs' means say [-4.9, +1.2] %. Over
    a base per pair the layouts are nested in the pairs, so the pairs are the replicates."""
    from harness.comparison import NoisePrior, compare_paired_runs

    a = np.full_like(MOVED_AA_S19, math.log(0.503))
    c = compare_paired_runs(a, a + MOVED_AA_S19, NoisePrior(run_to_run_cv=0.001, weight=4))
    assert c.df == 2 and c.terms["between_df"] == 2
    assert c.ci[0] < -0.04 and c.ci[1] > 0.01
    # a +1 % whose pairs agree (trial 1 of the same call): the prior floors the pairs' term,
    # which keeps its degrees of freedom beside the layouts'; clearly slower
    slower = np.log1p(np.array([[1.41, 1.91, 1.53, 1.73], [1.25, 1.30, 1.61, 1.44],
                                [1.27, 1.41, 1.54, 1.63]]) / 100)
    s = compare_paired_runs(a, a + slower, NoisePrior(run_to_run_cv=0.001, weight=4))
    assert s.df > 2 and s.ci[0] > 0.01
    assert c.terms["between_measured"] == 1.0 and s.terms["between_measured"] == 0.0


def test_the_saved_terms_say_whether_the_pairs_term_was_measured_not_its_degrees_of_freedom():
    """Under a prior of weight 0 the pooled run-level term keeps the pairs' pairs - 1 degrees
    of freedom, so reading "measured" from ``between_df`` (as benchmarks/pairing.py did) calls
    a prior-floored term measured; the record now says which it was. Records saved before
    the flag are still read by their degrees of freedom."""
    from harness.comparison import NoisePrior, compare_paired_runs

    pair_term = load("pairing").pair_term
    a = np.full((3, 4), math.log(0.5))
    agree = a + np.log1p(np.array([[1.0, 1.1, 0.9, 1.0]] * 3) / 100)
    c = compare_paired_runs(a, agree, NoisePrior(run_to_run_cv=0.001, weight=0))
    assert c.terms["between_df"] == 2 and c.terms["between_measured"] == 0.0

    def record(terms):
        return {"verdict": {"metrics": {"median": {"method": "paired-runs", "processes": 3,
                                                   "terms": terms}}}}

    assert pair_term(record(c.terms)) == "prior"
    legacy = {k: v for k, v in c.terms.items() if k != "between_measured"}
    assert pair_term(record(legacy)) == "measured"      # the old reading, kept for old files


def test_paired_runs_interval_holds_its_level_where_a_common_shift_dominates():
    """benchmarks/paired_runs_calibration.py (SIMULATED, the design's textbook model): an A/A
    whose pairs each shift all of B's layouts by N(0, 1.5 %) over layouts 0.5 % apart. With the
    pairs' term on the layouts' degrees of freedom (before session 19) the 98 % interval
    missed zero in 4.2 % of 600 trials at 3 pairs and 3.5 % at 4; on the pairs' own, at about
    the nominal 2 %."""
    calibration = load("paired_runs_calibration")
    from harness.comparison import compare_paired_runs

    def rate(pairs):
        return calibration.miss_rate(compare_paired_runs, 0.015, 0.005, pairs, 4, 600,
                                     np.random.default_rng(19))

    assert rate(3) <= 0.03 and rate(4) <= 0.03


def test_a_comparisons_pairs_draw_distinct_whole_segment_bases():
    """Drawn independently at 512 bytes, two of a comparison's three pairs fell in one 2 MiB
    segment in 2 of 3 moved A/As on the H200 (session 19): one placement counted twice."""
    from harness.ab.processes import pair_base
    from harness.layout import BASE_SEGMENT, BASE_SLOTS, LARGE_PAD

    for seed in range(50):
        bases = [pair_base(seed, k) for k in range(1, BASE_SLOTS + 1)]
        assert len(set(bases)) == BASE_SLOTS
        assert all(b % BASE_SEGMENT == 0 and LARGE_PAD[0] < b <= LARGE_PAD[1] for b in bases)
    firsts = {pair_base(seed, 1) for seed in range(200)}
    assert len(firsts) > BASE_SLOTS // 2          # the series differ from seed to seed


def test_ctrl_c_keeps_the_rounds_run_so_far(monkeypatch):
    import harness.ab.processes as processes

    calls = []

    def run_side(case, base, label, number):
        if calls:
            raise KeyboardInterrupt
        calls.append(label)
        return {"side": label, "round": number, "status": "ok", "wall_s": 1.0}

    monkeypatch.setattr(processes, "run_side", run_side)   # stands in for the side's process
    case = bench_case("zoo:transformer", shapes="input_ids:1x8")
    with pytest.raises(ABInterrupted) as info:
        processes.measure_processes(case, case, ABSettings(processes=2))
    [record] = info.value.records
    assert record["status"] == "interrupted" and len(record["rounds"]) == 1
    assert "after 1 of 4 processes" in record["error"]


def test_ab_processes_end_to_end_on_the_cpu(write_toml, tmp_path, capsys):
    """Real processes (ONNX Runtime on the CPU, which places no memory: its layouts are
    repeated preparations, so this proves the plumbing and the verdict, not the pairing):
    a 2 ms delay in B is "slower" (exit 1), each side ran twice in ABBA order, every round
    kept its layouts, samples and host load, and the report shows the per-layout view."""
    path = write_toml(ORT_TF + """
        [[model]]
        id = "tf-slow"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        inject_delay = "2ms"
        [[ab]]
        a = "tf/onnxruntime/fp32/b1"
        b = "tf-slow/onnxruntime/fp32/b1"
        processes = 2
    """)
    out = tmp_path / "r"
    assert main(["ab", str(path), "--out", str(out)]) == 1
    [rec] = json.loads((out / "ab-results.json").read_text())["ab"]
    assert rec["method"] == "processes" and rec["order"] == "ABBA"
    assert [(r["side"], r["round"], r["status"]) for r in rec["rounds"]] == [
        ("A", 1, "ok"), ("B", 1, "ok"), ("B", 2, "ok"), ("A", 2, "ok")]
    assert all(len(r["layout_figures"]) == 3 and r["samples_ms"] and r["host"]
               for r in rec["rounds"])
    # each side's process ran over its pair's base pad (the CPU places none: recorded only)
    bases = {(r["side"], r["round"]): r["layout_base"] for r in rec["rounds"]}
    assert bases["A", 1] == bases["B", 1] > 0 and bases["A", 2] == bases["B", 2] > 0
    # ...so its pairs share nothing, and each side's runs are judged as a group
    assert rec["verdict"]["metrics"]["median"]["method"] == "paired-layouts"
    assert rec["verdict"]["status"] == "slower" and rec["verdict"]["change"] > 0.5
    html = (out / "ab.html").read_text()
    assert "per-layout difference" in html
    # the mode every process timed in, as the first one recorded it (a host timer's is fixed)
    assert rec["timing"]["mode"] == "per-iteration"
    assert "timer host · per-iteration (host timer: one call per sample)" in html
    assert "slower" in capsys.readouterr().out


def test_processes_is_checked_before_anything_is_measured(write_toml, tmp_path, capsys):
    body = ORT_TF + """
        [[ab]]
        a = "tf/onnxruntime/fp32/b1"
        b = "tf/onnxruntime/fp32/b1"
    """
    for extra, words in (("processes = 1", "at least 2"),
                         ("processes = 3\n        redraw = true", "redraw"),
                         ("escalate_processes = 1", "escalate_processes: 0 (none) or at least 2"),
                         ("processes = 2\n        escalate_processes = 2",
                          "not with escalate_processes")):
        path = write_toml(body + "        " + extra + "\n")
        with pytest.raises(ConfigError) as info:
            load_scenario(path)
        assert "ab" in str(info.value) and words in str(info.value)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ab", "zoo:resnet", "zoo:resnet", "--processes", "1"])
    assert main(["ab", "zoo:resnet", "zoo:resnet", "--processes", "2", "--redraw",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--redraw" in capsys.readouterr().err
    for bad in (["--escalate-processes", "1"], ["--escalate-processes", "x"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["ab", "zoo:resnet", "zoo:resnet", *bad])
    assert build_parser().parse_args(["ab", "a", "b", "--escalate-processes", "0"]
                                     ).escalate_processes == 0
    assert main(["ab", "zoo:resnet", "zoo:resnet", "--processes", "2",
                 "--escalate-processes", "2", "--out", str(tmp_path / "r")]) == 2
    assert "--escalate-processes" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    # what a scenario file says reaches the pair's settings; unset, None: the default for
    # the timer the comparison runs on, known once it has run (ABSettings.escalate_for)
    from harness.plan import load_plan

    for extra, want in (("escalate_processes = 3", 3), ("", None)):
        path = write_toml(body + "        " + extra + "\n", name=f"e{want}.toml")
        [pair] = load_plan([path]).pairs
        assert pair.settings.escalate_processes == want


def test_the_prototype_judges_saved_runs_with_abs_verdict(write_toml, tmp_path, capsys):
    """benchmarks/ab_processes.py, which measured session 16's device runs, re-judges them
    through ab's verdict; with one run a side nothing is called (two are needed)."""
    a, b = write_toml(ORT_TF, name="a.toml"), write_toml(ORT_TF, name="b.toml")
    out = tmp_path / "runs"
    assert ab_processes.main([str(a), str(b), "--rounds", "1", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["A1", "B1"]
    saved = json.loads((out / "ab_processes.json").read_text())
    [(cid, row)] = saved.items()
    assert cid == "abp/tf/onnxruntime/fp32/b1" and row["call"] == "unstable"


def test_an_interleaved_ab_undecided_by_far_apart_layouts_points_to_processes():
    """Preparations 1.9 % apart (squeezenet1_1 on the H200) leave +1 % undecided in one
    process; the advice names --processes, and only where more preparations are far off."""
    from ab_records import synthetic

    wide = synthetic(0.01, 3, instance_sd=0.019, drift=0.0003)
    wide["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
    narrow = synthetic(0.0, 3, instance_sd=0.0007, drift=0.0003)
    narrow["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
    v_wide, v_narrow = judge([wide, narrow])
    assert v_wide.status == "undecided" and "--processes 3" in v_wide.reason
    assert "--processes" not in v_narrow.reason


def test_the_process_model_is_judged_by_abs_verdict():
    """benchmarks/process_model.py (SIMULATED): intact pairs resolve +1 % at layouts 1 %
    apart; a moved B (broken pairs) only widens the interval to the layouts' spread."""
    rng = np.random.default_rng(7)
    slow = [simulate("0.01", 3, 4, 0.01, 0.0006, 0.0005, rng) for _ in range(20)]
    moved = [simulate(MOVED, 3, 4, 0.01, 0.0006, 0.0005, rng) for _ in range(20)]
    assert all(r["verdict"].status == "slower" for r in slow)
    assert [r["side"] for r in slow[0]["rounds"]] == list("ABBAAB")
    half = [(r["verdict"]["ci"][1] - r["verdict"]["ci"][0]) / 2 for r in moved]
    assert np.median(half) > 0.005
    assert sum(r["verdict"].status in ("slower", "faster") for r in moved) <= 1


def test_an_undecided_process_comparison_extends_only_where_that_can_settle_it(monkeypatch):
    """More processes per side where the verdict's sizing asks for a number within twice the
    start (MAX_GROWTH), at most as many again, never with --max-duration 0 or past
    --max-wall; broken pairs (asking for dozens) are left undecided rather than spending
    looks. The rounds continue ABBA and the record counts its looks."""
    import harness.ab.processes as processes

    record = {"status": "ok", "settings": {"processes": 2},
              "rounds": [{"wall_s": 10.0}] * 4}
    settings = ABSettings(processes=2)
    assert processes.rounds_to_add(record, settings, lambda r: 1) == 1
    assert processes.rounds_to_add(record, settings, lambda r: 2) == 2
    assert processes.rounds_to_add(record, settings, lambda r: 3) == 0    # 5 > 2 x 2
    assert processes.rounds_to_add(record, settings, lambda r: 0) == 0
    assert processes.rounds_to_add(record, replace(settings, max_duration_s=0.0),
                                   lambda r: 1) == 0
    # 40 s so far at 10 s a process: one more round (20 s) fits in 65 s, two do not
    assert processes.rounds_to_add(record, replace(settings, max_wall_s=65.0),
                                   lambda r: 2) == 1

    rng = np.random.default_rng(11)
    bias = 0.012 * rng.standard_normal(4)

    def run_side(case, base, label, number):   # stands in for the side's process
        shift = math.log(1.006) if label == "B" else 0.0
        row = bias + shift + 0.0015 * rng.standard_normal(4)
        return {"side": label, "round": number, "status": "ok", "wall_s": 1.0,
                "timer": "cuda-event", "samples_ms": [],
                "layout_figures": [{"median_ms": math.exp(x), "p99_ms": 1.02 * math.exp(x)}
                                   for x in row]}

    monkeypatch.setattr(processes, "run_side", run_side)
    case = bench_case("zoo:transformer", shapes="input_ids:1x8")
    asked = []

    def extend(rec):
        asked.append(rec["settings"]["processes"])
        return 2 if len(asked) == 1 else 0

    rec = processes.measure_processes(case, case, settings, extend=extend)
    assert asked == [2, 4] and rec["settings"]["processes"] == 4
    assert rec["order"] == "ABBAABBA" and len(rec["rounds"]) == 8
    assert rec["extensions"] == [{"processes_added": 2, "after_processes": 2}]
    [v] = judge([rec])
    m = v.metrics["median"]
    assert m["looks"] == 2 and m["look_share"] < 0.8 and list(m["runs"]) == [4, 4]


def test_an_interleaved_comparison_its_layouts_left_undecided_goes_on_in_processes():
    """escalate_processes: an interleaved +1 % whose preparations are 1.9 % apart (as
    squeezenet1_1's) goes on in processes; one that is decided, or undecided for another
    reason (host-paced sides), does not; nor with escalate_processes 0, --max-duration 0, or
    --max-wall spent."""
    from ab_records import synthetic

    from harness.ab.measure import DEFAULT_ESCALATE_PROCESSES
    from harness.ab.plan import escalation

    def record(shift, sd, **extra):
        r = synthetic(shift, 3, instance_sd=sd, drift=0.0003)
        r["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
        r.update(warnings=[], timing={"timer": "cuda-event", **extra})
        return r

    on = ABSettings(escalate_processes=2, max_wall_s=300.0)
    then = escalation(record(0.01, 0.019), on, 70.0)
    assert then is not None and then.processes == 2 and then.max_wall_s == pytest.approx(230.0)
    assert escalation(record(0.01, 0.019), replace(on, escalate_processes=0), 70.0) is None
    by_default = escalation(record(0.01, 0.019), ABSettings(), 70.0)    # as the constant says
    assert (by_default.processes if by_default else 0) == DEFAULT_ESCALATE_PROCESSES
    assert escalation(record(0.01, 0.019), replace(on, max_duration_s=0.0), 70.0) is None
    assert escalation(record(0.01, 0.019), on, 301.0) is None
    assert escalation(record(0.0, 0.0007), on, 70.0) is None              # "same"
    # preparations 0.3 % apart asking for 9 (not more than twice the 6 it has), its
    # extensions spent: it goes on as well (session 18: one such +1 % stayed undecided)
    near = record(0.01, 0.003)
    [v] = judge([near])
    assert v.status == "undecided" and not layouts_set_interval(v.metrics["median"])
    assert escalation(near, on, 70.0) is not None
    paced = record(0.01, 0.019, enqueue_ms={"A": 0.6, "B": 0.6}, enqueue_bound=["A", "B"])
    assert escalation(paced, on, 70.0) is None


def test_the_default_escalation_applies_to_cuda_event_timing_only():
    """The default (3, on since its rule was met on the H200 in session 26: the saved
    trials' tabulation is tests/test_preregistered_rule.py's) sends an undecided comparison
    timed by CUDA events (where that rule was judged) on in processes; a host-timed one,
    whose process term processes would add, goes on only when asked. Before this scoping, a
    default of 3 sent ONNX Runtime's undecided CPU A/As to processes too
    (tests/test_fail_closed.py's extension test, which then had no extensions)."""
    from ab_records import synthetic

    from harness.ab import measure
    from harness.ab.plan import escalation

    def record(timer):
        r = synthetic(0.01, 3, instance_sd=0.019, drift=0.0003)
        r["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
        r.update(warnings=[], timing={"timer": timer})
        return r

    assert measure.DEFAULT_ESCALATE_PROCESSES == 3
    then = escalation(record("cuda-event"), ABSettings(), 70.0)
    assert then is not None and then.processes == then.escalate_processes == 3
    assert escalation(record("host"), ABSettings(), 70.0) is None
    assert escalation(record("host"), ABSettings(escalate_processes=2), 70.0).processes == 2
    assert escalation(record("cuda-event"), ABSettings(escalate_processes=0), 70.0) is None


def test_processes_gone_on_from_an_interleaved_comparison_continue_its_looks():
    """The process-paired record's first look after three interleaved ones is the fourth
    look of one comparison (front spending: 0.025 alpha), so the two phases together call a
    false change at most at alpha; the reason says where the data came from."""
    rng = np.random.default_rng(4)
    bias = 0.012 * rng.standard_normal(4)
    a = [list(bias + 0.0005 * rng.standard_normal(4)) for _ in range(2)]
    b = [list(bias + math.log(1.01) + 0.0005 * rng.standard_normal(4)) for _ in range(2)]
    fresh = process_record(a, b)
    gone_on = {**process_record(a, b), "looks_before": 3,
               "interleaved": {"extensions": [{}, {}], "blocks": []}}
    v_fresh, v_on = judge([fresh]), judge([gone_on])
    assert v_fresh[0].metrics["median"]["look_share"] == pytest.approx(0.8)
    assert v_on[0].metrics["median"]["looks"] == 4
    assert v_on[0].metrics["median"]["look_share"] == pytest.approx(0.025)
    assert v_on[0].status == "slower" and "after 3 look(s) of an interleaved" in v_on[0].reason


def test_an_escalated_comparison_runs_real_processes_and_keeps_the_interleaved_record(
        tmp_path, monkeypatch):
    """`ab` on real ONNX Runtime sides: the interleaved record is written before the
    processes start and replaced by the record that nests it; one record per pair in the
    results, judged once. The decision to go on (wants_processes, unit-tested above on
    simulated preparations far apart) is stood in for here: the CPU places no memory, so
    its preparations are never 2 % apart."""
    import harness.ab.plan as plan
    from harness.results import ResultWriter, RunResult, now_iso

    case, settings = _escalating(monkeypatch)
    pair = plan.ABPair(plan.side_case(case, "A"), plan.side_case(case, "B"), settings,
                       str(tmp_path), str(tmp_path))
    run = RunResult(run_id="r", started=now_iso(), platform={}, platform_id="test")
    path = tmp_path / "ab-results.json"
    on_disk = []
    real = plan.measure_processes

    def measure_processes(*args, **kw):   # the real one, after a look at the file
        on_disk.append(json.loads(path.read_text())["ab"])
        return real(*args, **kw)

    monkeypatch.setattr(plan, "measure_processes", measure_processes)
    [record] = plan.run_pairs([pair], run, ResultWriter(run, path))
    [[written]] = on_disk
    assert written.get("method") != "processes" and written["blocks"]
    assert record["method"] == "processes" and record["interleaved"]["blocks"]
    assert record["looks_before"] == 1 + len(record["interleaved"].get("extensions") or [])
    # 2 processes a side, more where undecided (a busy 2-core machine)
    statuses = [r["status"] for r in record["rounds"]]
    assert statuses == ["ok"] * len(statuses) and len(statuses) >= 4, record["warnings"]
    [saved] = json.loads(path.read_text())["ab"]
    assert run.ab == [record] and saved["method"] == "processes"
    # the verdict that sent it on, judged alone as an extension is sized (on a busy
    # machine the host timer's comparison may be "unstable": the decision is doubled here)
    assert saved["interleaved"]["verdict"]["status"] in ("same", "undecided", "slower",
                                                         "faster", "unstable")
    assert record["verdict"].status in ("same", "undecided", "unstable"), record["verdict"]
    from harness.report.html import render_html

    assert "Went on from an interleaved comparison" in render_html(run)


def test_ctrl_c_in_the_processes_an_escalation_started_keeps_both_records(monkeypatch):
    """Ctrl-C while the processes run: the run keeps one record for the pair, the
    interrupted process-paired one with the interleaved record inside, not both side by
    side and not neither. The measuring is stood in for (doubles of measure_ab and the
    processes' Ctrl-C); run_pairs' bookkeeping is the product's."""
    from ab_records import synthetic

    import harness.ab.plan as plan
    from harness.results import RunResult, now_iso

    interleaved = synthetic(0.01, 3, instance_sd=0.019, drift=0.0003)
    interleaved["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02}
    interleaved.update(warnings=[], timing={"timer": "cuda-event"})

    def measure_processes(a, b, settings, base_a, base_b, extend, interleaved):
        record = {"id": "x", "status": "interrupted", "error": "interrupted by the user",
                  "method": "processes", "rounds": [], "blocks": [], "settings": {},
                  "interleaved": interleaved, "looks_before": 1}
        raise ABInterrupted([record])

    monkeypatch.setattr(plan, "measure_ab", lambda *a, **k: interleaved)
    monkeypatch.setattr(plan, "measure_processes", measure_processes)
    case = bench_case("zoo:transformer", shapes="input_ids:1x8")
    pair = plan.ABPair(case, case, ABSettings(escalate_processes=2))
    run = RunResult(run_id="r", started=now_iso(), platform={}, platform_id="test")
    with pytest.raises(ABInterrupted):
        plan.run_pairs([pair], run)
    [record] = run.ab
    assert record["status"] == "interrupted" and record["interleaved"] is interleaved
    assert record["verdict"].status == "failed"


def test_the_panel_script_measures_a_pair_as_ab_does_and_reloads_it(tmp_path, capsys):
    """benchmarks/device/failclosed.py, which measures the device panels: one ONNX Runtime
    A/A trial through ab's measure_pair with --escalate set (no extension here, so it stays
    interleaved), saved, then re-judged from the file as if it had gone on after looks
    (--looks-before applies to process-paired records only). A crash here would cost a
    device call."""
    failclosed = load("device.failclosed")
    save = tmp_path / "panel.json"
    assert failclosed.main(["--workload", "ort:zoo:transformer", "--levels", "0:1",
                            "--duration", "1", "--max-duration", "0", "--escalate", "2",
                            "--save", str(save)]) == 0
    [record] = json.loads(save.read_text())["records"]
    assert record.get("method") != "processes" and "interleaved" not in record
    assert record["settings"]["escalate_processes"] == 2 and record["verdict"]["status"]
    assert failclosed.main(["--load", str(save), "--looks-before", "3"]) == 0
    assert "1 records re-judged" in capsys.readouterr().out


def test_an_escalated_ab_publishes_every_output(tmp_path, monkeypatch):
    """`ab` as the command runs it (harness.api.ab): the escalated pair's one record reaches
    ab-results.json, the HTML report, summary.md and JUnit, and the exit code follows its
    verdict. The decision to go on is stood in for (as above: the CPU's preparations are
    never far apart); the processes are real."""
    import harness.ab.plan as plan
    from harness import api

    case, settings = _escalating(monkeypatch)
    pair = plan.adhoc_pair(("zoo:transformer", "zoo:transformer"),
                           ({"shapes": "input_ids:1x8"}, {"shapes": "input_ids:1x8"}),
                           settings)
    pair = replace(pair, a=replace(pair.a, timing=case.timing, stop=case.stop),
                   b=replace(pair.b, timing=case.timing, stop=case.stop))
    out = tmp_path / "r"
    outcome = api.ab([pair], out_dir=out)
    [saved] = json.loads((out / "ab-results.json").read_text())["ab"]
    assert saved["method"] == "processes" and saved["interleaved"]["blocks"]
    html = (out / "ab.html").read_text()
    assert "Went on from an interleaved comparison" in html
    assert "### A/B comparisons (in fresh processes)" in (out / "summary.md").read_text()
    assert (out / "junit.xml").exists()
    status = saved["verdict"]["status"]
    assert outcome.exit_code == (0 if status == "same" else 3), status


def _escalating(monkeypatch):
    """A short ONNX Runtime case and A/B settings that go on in 2 processes a side, with
    the decision to go on stood in for (a double: the CPU places no memory, so its
    preparations are never far apart)."""
    import harness.ab.plan as plan

    monkeypatch.setattr(plan, "wants_processes", lambda v: True)
    case = bench_case("zoo:transformer", shapes="input_ids:1x8", duration="0.3s",
                      warmup="50ms", timing={"layouts": 3})
    return case, ABSettings(duration_s=0.4, block_s=0.05, instances=2, max_duration_s=0.4,
                            escalate_processes=2,
                            tolerance={"median": 0.5, "throughput": 0.5})


def test_the_pairing_table_sees_broken_layouts_and_pairs_that_disagree():
    """benchmarks/pairing.py on simulated process records: B's layouts other placements give a
    large side-by-layout F; a shift of all of B's layouts that differs by pair shows in the
    pairs' spread; intact pairs show neither."""
    module = load("pairing")
    pairing = module.pairing
    rng = np.random.default_rng(3)
    bias = 0.012 * rng.standard_normal(4)

    def runs(layouts, shifts):
        return [list(layouts + s + 0.0005 * rng.standard_normal(4)) for s in shifts]

    a = runs(bias, [0.0, 0.0])
    intact = pairing(process_record(a, runs(bias, [0.01, 0.01])))
    broken = pairing(process_record(a, runs(0.012 * rng.standard_normal(4), [0.0, 0.0])))
    shifted = pairing(process_record(a, runs(bias, [0.02, -0.02])))
    assert intact["p"] > 0.01 and broken["p"] < 0.001
    assert intact["in_pair"] < 0.002 < 0.005 < broken["in_pair"]
    assert intact["pairs"] < 0.002 < 0.02 < shifted["pairs"]
    assert abs(intact["change"] - 0.01) < 0.002
    # the verdict measured the pairs' term where they disagree, the prior floored it where not
    judged = [process_record(a, runs(bias, shifts)) for shifts in ([0.01, 0.01], [0.02, -0.02])]
    judge(judged)
    assert [module.pair_term(r) for r in judged] == ["prior", "measured"]
    # the bases column counts placements in whole 2 MiB segments (session 19's collision)
    assert module.distinct_bases(judged[0]) == "-"
    mib = 1 << 20
    for r, base in zip(judged[0]["rounds"], [23.2, 23.2, 23.4, 23.4], strict=True):
        r["layout_base"] = int(base * mib)
    assert module.distinct_bases(judged[0]) == "1/2"


def test_the_chain_model_goes_on_where_the_layouts_leave_it_undecided(capsys):
    """benchmarks/chain_model.py (SIMULATED): on layouts 1.3 % apart (shufflenet_v2_x1_0's
    study) an interleaved +1 % is left undecided and goes on in processes, which call it; the
    table prints a row a level."""
    chain_model = load("chain_model")
    study = str(ROOT / "docs/device-runs/session5/layout-shufflenet_v2_x1_0.json")
    args = chain_model.argparse.Namespace(
        within=0.0005, prep_s=1.0, residual=0.0006, run_sd=0.0005, per_run=4,
        process_s=12.5, escalate=3, moved_shift=0.0132)
    layouts = chain_model.extension_model.study_layouts(study)
    rng = np.random.default_rng(1)
    runs = [chain_model.chain("0.01", layouts, args, rng) for _ in range(6)]
    assert any(on for _, on, _ in runs)
    for record, on, wall in runs:
        assert (record.get("method") == "processes") == on
        assert record["verdict"].status in ("slower", "undecided")
        assert wall > (75.0 if on else 0.0)
    assert chain_model.main(["--layouts", study, "--trials", "2", "--levels", "0"]) == 0
    assert "| A/A |" in capsys.readouterr().out


def test_a_short_case_timed_per_iteration_carries_the_per_process_events_flag():
    """On the H200 (session 29) a 10 µs spin's processes each took their own level of the
    launch and event records around a replay, 1.4 % between processes: the saved spin:10
    process-paired records say so and point at batched timing; mobilenet_v3_small's (0.59
    ms, the same level 0.03 %) does not, nor a spin:10 record timed in batches."""
    from harness.ab.verdict import PROCESS_EVENTS

    load_records = load("device.failclosed").load_records

    def processes_records(name):
        return [r for r in load_records([ROOT / "docs" / "device-runs" / name])
                if r.get("method") == "processes"]

    def kinds(record):
        [v] = judge([record])
        return v, [f.kind for f in v.flags]

    spin = processes_records("session29/panel-7-p6-s29b.json")
    assert len(spin) == 4
    for r in spin:
        v, k = kinds(r)
        assert PROCESS_EVENTS in k and "--timing mode=batched" in v.reason
        assert v.status == "undecided"          # a note: the status is the same without it
    [mobilenet] = processes_records("session28/panel-1-default-s28d.json")
    assert PROCESS_EVENTS not in kinds(mobilenet)[1]
    [batched, *_] = processes_records("session29/panel-7-p6-s29b.json")
    batched["a"]["case"]["timing"]["mode"] = "batched"
    assert PROCESS_EVENTS not in kinds(batched)[1]
