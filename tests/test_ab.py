"""Paired A/B: the block order, the paired verdict on synthetic blocks, and the whole path on
the CPU (ONNX Runtime, host timer) with an injected delay far above CPU noise."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from ab_records import synthetic

from harness.ab.measure import ABSettings
from harness.ab.schedule import block_order, order_text
from harness.ab.verdict import judge
from harness.cli import main


@pytest.mark.parametrize("pairs", [8, 20, 40])
def test_block_order_is_balanced_and_randomised(pairs):
    order = block_order(pairs, seed=3)
    assert len(order) == pairs and set(order) <= {("A", "B"), ("B", "A")}
    counts = Counter(order)
    assert abs(counts[("A", "B")] - counts[("B", "A")]) <= 1
    text = order_text(order)
    for i in range(0, len(text) - 3, 4):                     # ABBA / BAAB quads
        assert text[i:i + 4] in ("ABBA", "BAAB")
    assert order_text(block_order(pairs, seed=4)) != text or pairs < 8


def test_paired_verdict_false_alarms_and_detection():
    aa = [synthetic(0.0, s) for s in range(200)]
    judge(aa)
    assert sum(r["verdict"]["status"] == "slower" for r in aa) / len(aa) <= 0.02
    slow = [synthetic(0.005, 1000 + s) for s in range(60)]
    for r in slow:              # one comparison per run (judged together, Holm spreads alpha)
        judge([r])
    assert sum(r["verdict"]["status"] == "slower" for r in slow) / len(slow) >= 0.95
    v = slow[0]["verdict"]
    assert v["metric"] == "median" and v["ci"][0] < v["change"] < v["ci"][1]
    assert 0 < v["mdc"] < 0.005 and "throughput" in v["metrics"]
    assert v["metrics"]["median"]["instances"] == 6


def test_paired_verdict_uses_the_measured_preparation_spread():
    """Two preparations of one engine differ (memory layout); blocks cannot see that. An
    engine that wrongly declares ``instance_spread = 0`` no longer gets false alarms: the
    preparations' own spread sets the interval when it is the larger."""
    quiet = {"drift": 0.0003}            # blocks as quiet as the H100's (block CV ~0.05 %)
    declared_zero = [synthetic(0.0, s, declared=0.0, **quiet) for s in range(200)]
    for r in declared_zero:
        judge([r])
    wrong = sum(r["verdict"]["status"] in ("slower", "faster") for r in declared_zero)
    assert wrong / len(declared_zero) <= 0.03
    # the noise-free spin (calibration) states 0 and keeps its 0.004 % resolution
    spin = synthetic(0.0025, 7, instance_sd=0.0, declared=0.0, **quiet)
    judge([spin])
    assert spin["verdict"]["status"] == "slower" and spin["verdict"]["mdc"] < 0.002


def test_a_and_b_ms_read_as_the_reported_change_when_pairs_are_set_aside():
    """The estimate sets disturbed pairs aside; B's figure must follow it. Before, B's
    geometric mean over every block was shown, and on a host timer (13 of 80 pairs set aside)
    the line read "+1.01 % (0.08117 ms -> 0.08062 ms)": a slower B printed as faster."""
    r = synthetic(0.01, 3, drift=0.0003, declared=0.0)
    for blk in r["blocks"]:
        if blk["side"] == "B" and blk["pair"] in (2, 9, 15):     # three pairs hit by a hiccup
            for key in ("median_ms", "p99_ms", "mean_ms"):
                blk[key] *= 0.7
    judge([r])
    m = r["verdict"]["metrics"]["median"]
    assert m["change"] > 0.005                      # the kept pairs: B slower
    assert m["b_ms"] / m["a_ms"] - 1 == pytest.approx(m["change"], rel=1e-9)
    assert m["b_ms"] > m["a_ms"]


@pytest.mark.parametrize("layout_sd", [0.005, 0.01, 0.02])
def test_a_gross_change_is_never_lost_to_a_layout_spread(layout_sd):
    """Issue 22: preparations 1-3 % apart made every verdict "unstable" (exit 0), +20 %
    included. Judged with the spread it measured, +20 % is "slower" every time, +5 % is
    "slower" or "undecided" (never "same"), and A/A is never "same" when its interval is
    wider than the tolerance."""
    tol = {"median": 0.002, "p99": 0.02, "throughput": 0.002}
    for shift, allowed in ((0.2, {"slower"}), (0.05, {"slower", "undecided"}),
                           (0.0, {"undecided", "same", "slower", "faster"})):
        recs = [synthetic(shift, 100 * s + 1, instance_sd=layout_sd) for s in range(40)]
        for r in recs:
            r["settings"]["tolerance"] = tol
            judge([r])
        got = Counter(r["verdict"]["status"] for r in recs)
        assert set(got) <= allowed, (shift, got)
        if shift == 0.0:
            assert got["slower"] + got["faster"] <= 2, got
            assert got["same"] == 0, got       # ±1 % wide intervals cannot show ±0.2 %
            why = next(r["verdict"]["reason"] for r in recs
                       if r["verdict"]["status"] == "undecided")
            assert "preparations per side" in why


def test_paired_verdict_unstable_and_failed():
    short = synthetic(0.0, 1, pairs=3)
    failed = {"status": "failed", "error": "side B: boom", "blocks": []}
    judge([short, failed])
    assert short["verdict"]["status"] == "unstable" and "too few" in short["verdict"]["reason"]
    assert failed["verdict"].to_json() == {"status": "failed", "reason": "side B: boom",
                                           "metrics": {}}


def test_ab_cli_detects_an_injected_delay(tmp_path, capsys):
    out = tmp_path / "r"
    args = ["ab", "zoo:transformer", "zoo:transformer", "--shapes", "input_ids:1x8",
            "--duration", "0.8s", "--warmup", "50ms", "--rewarm", "5ms", "--out", str(out)]
    # 2 ms against a model of well under 1 ms on the CPU: no noise hides it
    assert main([*args, "--inject-delay-b", "2ms"]) == 1
    data = json.loads((out / "ab-results.json").read_text())
    [rec] = data["ab"]
    assert rec["verdict"]["status"] == "slower" and rec["verdict"]["change"] > 0.5
    assert len(rec["order"]) == 2 * len({b["pair"] for b in rec["blocks"]}) >= 16
    # the blocks take the slower side's sample count: the 0.8 s asked for is not 20x longer
    # (the faster side's count made it 2 ms x ~1000 samples per B block, ~16 s)
    assert rec["timing"]["measure_s"] < 4.0
    assert rec["a"]["shapes"] == rec["b"]["shapes"] == {"input_ids": [1, 8]}
    html = (out / "ab.html").read_text()
    assert "A/B comparisons" in html and "per-pair difference over time" in html
    assert "slower" in capsys.readouterr().out


def test_ab_scenario_table_runs_with_the_matrix(write_toml, tmp_path):
    from harness import api

    path = write_toml("""
        name = "abs"
        [defaults]
        warmup = { min_time = "20ms", max_time = "100ms" }
        stop = { rel_ci = "5%", min_samples = 10, min_time = "20ms", max_time = "100ms" }
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        batch = [1]
        [[model]]
        id = "t2"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        [[case]]
        match = "abs/t2/*"
        inject_delay = "2ms"
        [[ab]]
        a = "t/onnxruntime/fp32/b1"
        b = "abs/t2/onnxruntime/fp32/b1"
        duration = "0.6s"
        rewarm = "5ms"
    """)
    outcome = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    [rec] = outcome.run.ab
    assert rec["verdict"]["status"] == "slower" and outcome.exit_code == 1
    bad = write_toml(path.read_text().replace('b = "abs/t2', 'b = "abs/nope'), "bad.toml")
    with pytest.raises(Exception, match="no case 'abs/nope"):
        api.run([bad], out_dir=tmp_path / "r2", baselines=tmp_path / "b")


# One model at batch 1 and 2, for [[ab]] tables that pair its two cases.
TWO_BATCHES = """
        name = "{name}"
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        batch = [1, 2]"""


def test_plan_parses_each_file_once_and_pairs_reuse_its_cases(write_toml, monkeypatch):
    """One parse per scenario file gives the cases (with their folder) and the [[ab]] pairs,
    whose sides are the planned cases themselves; --case keeps a pair when a side matches."""
    from harness import plan as plan_mod

    path = write_toml(TWO_BATCHES.format(name="once") + """
        [[ab]]
        a = "t/onnxruntime/fp32/b1"
        b = "once/t/onnxruntime/fp32/b2"
    """)
    loads = []
    real = plan_mod.load_scenario
    monkeypatch.setattr(plan_mod, "load_scenario", lambda p: loads.append(p) or real(p))
    planned = plan_mod.load_plan([path])
    assert loads == [path]
    assert [p.base_dir for p in planned.cases] == [str(path.resolve().parent)] * 2
    [pair] = planned.pairs
    assert pair.a is planned.cases[0].case and pair.b is planned.cases[1].case
    assert pair.base_a == pair.base_b == planned.cases[0].base_dir
    chosen = plan_mod.load_plan([path], ["*/b2"])
    assert [p.case.id for p in chosen.cases] == ["once/t/onnxruntime/fp32/b2"]
    assert len(chosen.pairs) == 1
    assert plan_mod.load_plan([path], ["*/b2"]).pairs[0].a.id.endswith("b1")


def test_ab_ref_tree_pairs_cases_across_checkouts(write_toml, tmp_path, monkeypatch):
    from harness.ab.plan import ref_tree_pairs

    text = """
        name = "tree"
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
    """
    (tmp_path / "main" / "scenarios").mkdir(parents=True)
    (tmp_path / "work" / "scenarios").mkdir(parents=True)
    import textwrap

    for root in ("main", "work"):
        (tmp_path / root / "scenarios" / "s.toml").write_text(textwrap.dedent(text))
    monkeypatch.chdir(tmp_path / "work")
    pairs = ref_tree_pairs(["scenarios/s.toml"], tmp_path / "main", ABSettings())
    [pair] = pairs
    assert pair.a.id == pair.b.id == "tree/t/onnxruntime/fp32/b1"
    assert pair.base_a.endswith("main/scenarios") and pair.base_b.endswith("work/scenarios")


def test_every_preparation_is_measured_whatever_the_duration(tmp_path):
    """``--instances 12 --duration 2s`` prepared 12 per side and measured 8 (pair p measures
    preparation p mod k, and 2 s made 8 pairs): now the pairs are at least the preparations
    and the blocks shrink to keep the duration."""
    assert ABSettings(instances=12, duration_s=2.0).pairs == 12
    assert ABSettings(instances=12, duration_s=2.0).effective_block_s == pytest.approx(2 / 24)
    assert ABSettings().pairs == 20                         # the defaults are unchanged
    out = tmp_path / "r"
    assert main(["ab", "zoo:transformer", "zoo:transformer", "--shapes", "input_ids:1x8",
                 "--duration", "0.6s", "--warmup", "20ms", "--rewarm", "5ms", "--instances",
                 "10", "--max-duration", "0", "--allow-undecided", "--out", str(out)]) == 0
    [rec] = json.loads((out / "ab-results.json").read_text())["ab"]
    assert {b["instance"] for b in rec["blocks"]} == set(range(10))


def test_block_size_counts_inferences_per_sample():
    from harness.ab.measure import block_sample_count

    # 1 ms inferences, 250 ms blocks: 250 single-run samples, or 25 samples of 10 runs each
    # (found on the H100: blocks planned as one run per sample lasted 16x too long)
    assert block_sample_count(0.25, 1e-3, 1, 20) == 250
    assert block_sample_count(0.25, 1e-3, 10, 20) == 25
    assert block_sample_count(0.25, 1e-3, 100, 20) == 20      # never below the minimum


def test_ab_times_the_step_the_timer_prepares_and_paces_warm_ups(monkeypatch):
    """A/B must time what ``run`` times: the timer's prepared step (its CUDA graph, copies,
    cold mode), prepared once per series, and every warm-up through the timer's synchronised
    step (found on the H100: unsynchronised re-warm-ups queued seconds of GPU work). A
    recording timer stands in for the CUDA-event timer, which needs a GPU."""
    from dataclasses import replace

    from harness.ab import measure
    from harness.api import bench_case
    from harness.timing.host import HostTimer

    calls = Counter()

    class RecordingTimer(HostTimer):
        def prepare(self, run):
            calls["prepare"] += 1

            def step():
                calls["step"] += 1
                run()
            return step

        def warmup_step(self, step):
            def warm():
                calls["warm"] += 1
                step()
            return warm

    from harness.timing import session

    monkeypatch.setattr(session, "make_timer", lambda case, engine, *_: RecordingTimer(0.0))
    case = bench_case("zoo:transformer", shapes="input_ids:1x8", warmup="20ms")
    case = replace(case, warmup=case.warmup.model_copy(update={"min_iterations": 3}))
    series = [ABSettings(duration_s=0.1, rewarm_s=0.002, seed=s, instances=2)
              for s in range(3)]
    records = measure.measure_ab_series(case, case, series)
    assert [r["status"] for r in records] == ["ok"] * 3, records[0]["error"]
    assert calls["prepare"] == 4          # once per side and instance, not per comparison
    assert records[0]["preparation_order"] in (["A0", "B0", "B1", "A1"],
                                               ["B0", "A0", "A1", "B1"])
    assert {b["instance"] for b in records[0]["blocks"]} == {0, 1}
    blocks = sum(len(r["blocks"]) for r in records)
    samples = sum(len(b["samples_ms"]) for r in records for b in r["blocks"])
    assert calls["warm"] >= 3 * 4 * 3 + 2 * blocks       # warm-ups and re-warm-ups, paced
    assert calls["step"] == calls["warm"] + samples      # every timed sample ran the step


def test_ab_against_the_stored_baseline_rebuilds_its_case(write_toml, tmp_path, capsys):
    """``ab --baseline``: A is the case the newest baseline entry recorded (its options), B the
    case as the file says now; a baseline whose model bytes changed is left out, said why."""
    from harness import api
    from harness.baseline.store import BaselineStore
    from harness.platform import platform_id

    text = """
        name = "bl"
        [defaults]
        warmup = { min_time = "20ms", max_time = "100ms" }
        stop = { rel_ci = "5%", min_samples = 10, min_time = "20ms", max_time = "100ms" }
        options = { onnxruntime = { threads = 1 } }
        [[model]]
        id = "t"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
    """
    path = write_toml(text)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    assert out.run.cases[0].case["model_sha256"]
    api.accept(out.results_path, tmp_path / "b")
    path.write_text(path.read_text().replace("threads = 1", "threads = 2"))
    args = ["ab", "--baseline", str(path), "--baselines", str(tmp_path / "b"),
            "--duration", "0.4s", "--warmup", "20ms", "--rewarm", "5ms", "--fail-on", "failed",
            "--allow-undecided", "--out", str(tmp_path / "ab")]
    assert main(args) == 0
    [rec] = json.loads((tmp_path / "ab" / "ab-results.json").read_text())["ab"]
    assert rec["id"] == "baseline:bl/t/onnxruntime/fp32/b1 vs bl/t/onnxruntime/fp32/b1"
    assert rec["a"]["case"]["options"]["threads"] == 1      # as accepted
    assert rec["b"]["case"]["options"]["threads"] == 2      # as the file says now
    assert rec["verdict"]["status"] in ("same", "slower", "faster", "unstable", "undecided")
    # the baseline's model bytes are no longer at hand: left out, and nothing to compare
    store = BaselineStore(tmp_path / "b")
    data = store.load(platform_id(), "bl")
    data["cases"]["bl/t/onnxruntime/fp32/b1"][-1]["case"]["model_sha256"] = "0" * 64
    store.path(platform_id(), "bl").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(args) == 2
    assert "not at hand" in capsys.readouterr().out


def test_every_way_to_start_an_ab_extends_up_to_the_same_default():
    """The CLI, a scenario's [[ab]] table and ABSettings share one extension limit; a driver
    built on ABSettings() measured without extension while `ab` extended to 30 s."""
    from harness.ab.measure import ABSettings
    from harness.cli import build_parser
    from harness.scenario.schema import DEFAULT_MAX_DURATION_S, ABSpec

    assert DEFAULT_MAX_DURATION_S > 0
    assert ABSettings().max_duration_s == DEFAULT_MAX_DURATION_S
    assert ABSpec(a="x", b="y").max_duration == DEFAULT_MAX_DURATION_S
    args = build_parser().parse_args(["ab", "zoo:resnet", "zoo:resnet"])
    assert args.max_duration is None      # resolved to DEFAULT_MAX_DURATION_S in cmd_ab
    # the wall-clock limit is off by default everywhere, and set the same way in each
    assert args.max_wall == ABSettings().max_wall_s == ABSpec(a="x", b="y").max_wall == 0
    args = build_parser().parse_args(["ab", "zoo:resnet", "zoo:resnet", "--max-wall", "90s"])
    assert args.max_wall == 90.0 == ABSpec(a="x", b="y", max_wall="90s").max_wall


# Keys of a block and of the timing facts before redraw existed: with redraw off, nothing else.
BLOCK_KEYS = {"side", "pair", "instance", "t_s", "t_end_s", "n", "median_ms", "p99_ms",
              "mean_ms", "samples_ms"}


def _redraw_doubles(monkeypatch, events):
    """Test doubles: a recording ``relayout_impl`` on the ONNX Runtime engine (whose real hook
    places nothing and says so), returning True as a GPU backend's does, and a recording
    host timer in place of the CUDA-event timer; both log to ``events``."""
    from harness.backends.onnxruntime import OrtEngine
    from harness.timing import session
    from harness.timing.host import HostTimer

    def relayout_impl(engine, layout):
        events.append(("relayout", id(engine), layout.seed))
        return True

    class RecordingTimer(HostTimer):
        def prepare(self, run):
            events.append(("prepare", id(self.engine), None))
            return run

        def sample(self, run, count):
            events.append(("sample", id(self.engine), None))
            return super().sample(run, count)

    def make_timer(case, engine, *_):
        timer = RecordingTimer(0.0)
        timer.engine = engine
        return timer

    monkeypatch.setattr(OrtEngine, "relayout_impl", relayout_impl)
    monkeypatch.setattr(session, "make_timer", make_timer)


def _redraw_record(redraw, layout_seed=99):
    from harness.ab.measure import measure_ab
    from harness.api import bench_case

    case = bench_case("zoo:transformer", shapes="input_ids:1x8", warmup="20ms")
    settings = ABSettings(duration_s=0.1, rewarm_s=0.002, instances=2, redraw=redraw,
                          layout_seed=layout_seed)
    record = measure_ab(case, case, settings)
    assert record["status"] == "ok", record["error"]
    return record


def test_ab_redraw_relayouts_both_measured_preparations_before_every_pair(monkeypatch):
    """With ``redraw``, before each block pair both sides' measured preparations get a fresh
    layout (one relayout each), then the timer prepares their step again on the new buffers;
    each block records its layout seed, and the same layout seed replays every draw. Uses the
    recording relayout and timer test doubles of :func:`_redraw_doubles`."""
    events: list[tuple[str, int, int | None]] = []
    _redraw_doubles(monkeypatch, events)
    record = _redraw_record(True)
    blocks = record["blocks"]
    pairs = sorted({b["pair"] for b in blocks})
    relayouts = [e for e in events if e[0] == "relayout"]
    assert len(relayouts) == 2 * len(pairs) and len(pairs) >= 8
    # after binding (4 preparations: 4 prepares), per pair: 2 relayouts, each followed by the
    # timer's prepare for that engine, then the two blocks
    steps = events[[e[0] for e in events].index("relayout"):]
    assert [e[0] for e in steps] == ["relayout", "prepare", "relayout", "prepare",
                                     "sample", "sample"] * len(pairs)
    assert sum(e[0] == "prepare" for e in events) == 4 + 2 * len(pairs)
    for p in pairs:
        redrawn = steps[6 * p: 6 * p + 6]
        # the engines re-drawn are the ones then measured, and each block ran on its draw
        assert [e[1] for e in redrawn if e[0] == "relayout"] == [e[1] for e in redrawn
                                                                 if e[0] == "sample"]
        pair_blocks = [b for b in blocks if b["pair"] == p]
        assert [b["layout_seed"] for b in pair_blocks] == [e[2] for e in redrawn
                                                           if e[0] == "relayout"]
    by_instance = {i: {e[1] for p in pairs if p % 2 == i
                       for e in steps[6 * p: 6 * p + 6] if e[0] == "relayout"} for i in (0, 1)}
    assert len(by_instance[0]) == len(by_instance[1]) == 2         # A and B of the instance
    assert not by_instance[0] & by_instance[1]
    seeds = [b["layout_seed"] for b in blocks]
    assert len(set(seeds)) == len(seeds)                            # every draw a new one
    assert record["settings"]["redraw"] is True
    assert record["timing"]["redraw_s"] >= 0 and record["timing"]["measure_s"] > 0
    assert not [w for w in record["warnings"] if w.startswith("redraw")]
    # the recorded layout seed replays every draw; another one draws others
    events.clear()
    again = _redraw_record(True)
    assert [b["layout_seed"] for b in again["blocks"]] == seeds
    assert [e[2] for e in events if e[0] == "relayout"] == [e[2] for e in relayouts]
    other = _redraw_record(True, layout_seed=100)
    assert not set(b["layout_seed"] for b in other["blocks"]) & set(seeds)


def test_ab_without_redraw_is_as_before(monkeypatch):
    """``redraw`` off: no relayout, one step preparation per preparation, and the record as
    before apart from ``settings.redraw`` (no block seeds, no re-draw time). Uses the
    recording relayout and timer test doubles of :func:`_redraw_doubles`."""
    events: list[tuple[str, int, int | None]] = []
    _redraw_doubles(monkeypatch, events)
    record = _redraw_record(False)
    assert not [e for e in events if e[0] == "relayout"]
    assert sum(e[0] == "prepare" for e in events) == 4
    assert all(set(b) == BLOCK_KEYS for b in record["blocks"])
    assert set(record["timing"]) == {"timer", "measure_s", "mode", "runs_per_sample",
                                     "mode_reason", "mode_probe_ms"}
    assert record["settings"]["redraw"] is False
    assert set(ABSettings().__dataclass_fields__) - set(record["settings"]) == set()


def test_ab_redraw_on_a_backend_that_places_no_memory_runs_unchanged(tmp_path, write_toml):
    """ONNX Runtime places no memory itself (its relayout is the base's no-op): ``ab
    --redraw`` measures and judges as without it, records no block seeds and says why.
    ``redraw = true`` in an ``[[ab]]`` table turns it on as the flag does."""
    out = tmp_path / "r"
    args = ["ab", "zoo:transformer", "zoo:transformer", "--shapes", "input_ids:1x8",
            "--duration", "0.4s", "--warmup", "20ms", "--rewarm", "5ms", "--instances", "2",
            "--max-duration", "0", "--fail-on", "failed", "--allow-undecided", "--redraw",
            "--out", str(out)]
    assert main(args) == 0
    [rec] = json.loads((out / "ab-results.json").read_text())["ab"]
    assert rec["status"] == "ok" and rec["settings"]["redraw"] is True
    assert rec["verdict"]["status"] in ("same", "slower", "faster", "unstable", "undecided")
    assert all(set(b) == BLOCK_KEYS for b in rec["blocks"])
    notes = [w for w in rec["warnings"] if w.startswith("redraw")]
    assert len(notes) == 2 and all("onnxruntime" in n for n in notes)
    from harness import plan as plan_mod

    path = write_toml(TWO_BATCHES.format(name="rd") + """
        [[ab]]
        a = "t/onnxruntime/fp32/b1"
        b = "t/onnxruntime/fp32/b2"
        redraw = true
        [[ab]]
        a = "t/onnxruntime/fp32/b1"
        b = "t/onnxruntime/fp32/b2"
    """)
    assert [p.settings.redraw for p in plan_mod.load_plan([path]).pairs] == [True, False]


def test_an_unset_tolerance_follows_the_timer():
    """``ab`` without ``--tolerance``: 0.5 % where the sides were timed on the device, 5 % on
    the host timer (a shared CPU's A/A intervals are ±1-3 % wide: at 0.5 % every one was
    undecided); a tolerance the comparison was run with wins. One A/A record of ±1-2 %
    intervals, judged three ways."""
    from harness.ab.verdict import AB_HOST_TOLERANCE, AB_TOLERANCE, ab_tolerance

    record = synthetic(0.0, 5, noise=0.01, instance_sd=0.004)
    record["settings"]["tolerance"] = {}
    statuses = {}
    for timer in ("cuda-event", "host"):
        r = {**record, "timing": {"timer": timer}}
        assert ab_tolerance(r)["median"] == (AB_HOST_TOLERANCE if timer == "host"
                                             else AB_TOLERANCE)["median"]
        judge([r])
        statuses[timer] = r["verdict"]["status"]
    assert statuses == {"cuda-event": "undecided", "host": "same"}, statuses
    pinned = {**record, "timing": {"timer": "host"},
              "settings": {**record["settings"], "tolerance": {"median": 0.005}}}
    assert ab_tolerance(pinned)["median"] == 0.005
    judge([pinned])
    assert pinned["verdict"]["status"] == "undecided"


def test_an_enqueue_bound_comparison_says_whose_pace_it_timed():
    """An eager model on the H200 (session 8, resnet18 fp16 b8): the host enqueued each
    inference about as slowly as the GPU ran it, block pairs scattered 15 %, and every
    verdict advised "about 139-323 preparations per side". Where the host set a side's pace
    the verdict now says so, whatever its status, and advises a CUDA graph instead."""
    plain = synthetic(0.0, 5, noise=0.01, instance_sd=0.004)
    plain["timing"] = {"timer": "cuda-event", "enqueue_ms": {"A": 0.02, "B": 0.02},
                       "enqueue_bound": []}
    bound = {**plain, "timing": {"timer": "cuda-event", "enqueue_ms": {"A": 0.97, "B": 0.98},
                                 "enqueue_bound": ["A", "B"]}}
    slower = synthetic(0.2, 6, noise=0.01, instance_sd=0.004)
    slower["timing"] = bound["timing"]
    judge([plain])
    judge([bound])
    judge([slower])
    assert plain["verdict"]["status"] == bound["verdict"]["status"] == "undecided"
    assert "enqueue-bound" not in plain["verdict"]["reason"]
    assert "would settle it" in plain["verdict"]["reason"]
    why = bound["verdict"]["reason"]
    assert "enqueue-bound (A 0.97 ms to enqueue" in why and "mode=graph" in why
    assert "--instances" not in why and "would only average its drift" in why
    assert bound["verdict"].to_json()["flags"][0]["kind"] == "enqueue-bound"
    assert slower["verdict"]["status"] == "slower" and "enqueue-bound" in slower["verdict"][
        "reason"]


def test_a_host_paced_comparison_does_not_extend_itself():
    """More layouts cannot settle the host's drift: an undecided enqueue-bound comparison
    asks for no more preparations, the same record without the flag does."""
    from harness.ab.plan import settle

    record = synthetic(0.0, 5, noise=0.01, instance_sd=0.004)
    record["timing"] = {"timer": "cuda-event", "enqueue_ms": {"A": 0.02, "B": 0.02},
                        "enqueue_bound": []}
    assert settle(record) > 0
    record["timing"] = {"timer": "cuda-event", "enqueue_ms": {"A": 0.97, "B": 0.98},
                        "enqueue_bound": ["A", "B"]}
    assert settle(record) == 0


def test_an_extended_comparison_is_decided_at_its_looks_share():
    """Each look's level is recorded (``look_share``) and decides the call. A comparison on
    its third look calls a change at alpha / 3 by "split" (the rule before session 8),
    alpha / 8 by "halving", alpha x 0.2 / 4 by the default "front", so an estimate clear at
    the one is undecided at the others; its interval (what "same" needs inside ±tolerance)
    is the same under all three."""
    from dataclasses import replace

    from harness.baseline.verdict import DEFAULT_POLICY

    assert DEFAULT_POLICY.look_spending == "front"
    record = synthetic(0.012, 2, noise=0.01, instance_sd=0.003)
    record["settings"]["tolerance"] = {"median": 0.005, "p99": 0.02, "throughput": 0.005}
    record["extensions"] = [{"instances_added": 3}, {"instances_added": 3}]
    split, halving, front = (judge([dict(record)], replace(DEFAULT_POLICY, look_spending=rule))[0]
                             for rule in ("split", "halving", "front"))
    shares = [v.metrics["median"]["look_share"] for v in (split, halving, front)]
    assert shares == pytest.approx([1 / 3, 1 / 8, 0.05])
    p = split.metrics["median"]["p_slower_adjusted"]
    assert 0.01 / 8 < p < 0.01 / 3
    assert (split.status, halving.status, front.status) == ("slower", "undecided", "undecided")
    # the interval, and so "same", is the same under all: only the calls are stricter
    assert split.metrics["median"].ci == halving.metrics["median"].ci == front.metrics[
        "median"].ci


@pytest.mark.parametrize("layout_sd", [0.006, 0.008, 0.010])
def test_an_extension_asks_for_what_its_next_look_needs_to_call(layout_sd):
    """+1 % against a 0.5 % tolerance, six preparations per side that scatter 0.6-1 %: the
    first look is undecided. The extension round asks for as many preparations as the
    second look needs to call the change at its share of alpha (front: 0.1 alpha, halved
    again by Holm over two metrics); measured alike (same mean, same spread), the extended
    comparison says "slower". Sized from the interval (alpha / 2), as before session 9, it
    asked for 0, 2 and 6 and stayed undecided."""
    from ab_records import prepared, spread

    from harness.ab.plan import settle
    from harness.ab.verdict import preparations_needed

    record = {"id": "a vs b", "status": "ok", "blocks": [], "a": {}, "b": {},
              "telemetry": None, "warnings": [], "timing": {"timer": "cuda-event"},
              "settings": {"tolerance": {"median": 0.005, "p99": 0.02}, "instances": 0}}
    prepared(record, 0.01, spread(6, layout_sd))
    [first] = judge([record])
    assert first.status == "undecided"
    more = settle(record)
    assert more >= 4
    # a fresh comparison (its first look calls at 0.8 alpha) needs fewer than the second look
    assert preparations_needed(first.metrics["median"]) < 6 + more
    prepared(record, 0.01, spread(more, layout_sd))
    record["extensions"] = [{"instances_added": more}]
    [extended] = judge([record])
    assert extended.status == "slower", extended.reason
    assert extended.metrics["median"]["look_share"] == pytest.approx(0.1)


def test_host_pace_finds_the_side_the_host_paced():
    """``timing.enqueue_bound`` from each side's timers and blocks, by trtexec's rule (host
    enqueue > 0.8x the GPU time); nothing for a host timer, which times the host anyway."""
    from types import SimpleNamespace

    import numpy as np

    from harness.ab.measure import host_pace, make_block
    from harness.timing.host import HostTimer

    blocks = [make_block("A", 0, 0.0, 0.1, np.full(50, 2.1)),
              make_block("B", 0, 0.1, 0.2, np.full(50, 0.6))]
    sides = [SimpleNamespace(label="A", timer=SimpleNamespace(enqueue_ms=[2.0, 1.9, 2.2])),
             SimpleNamespace(label="A", timer=SimpleNamespace(enqueue_ms=[2.0])),
             SimpleNamespace(label="B", timer=SimpleNamespace(enqueue_ms=[0.01, 0.02]))]
    assert host_pace(sides, blocks) == {"enqueue_ms": {"A": 2.0, "B": 0.015},
                                        "enqueue_bound": ["A"]}
    host = [SimpleNamespace(label=label, timer=HostTimer()) for label in ("A", "B")]
    assert host_pace(host, blocks) == {}


# what competed for the CPU over a host-timed A/B's interleaved phase (harness.telemetry.host)
QUIET_HOST = {"wall_s": 2.0, "cpus": 2, "others_cores": 0.1, "self_cores": 1.0,
              "steal_share": 0.0, "iowait_share": 0.0, "load_avg_1m": 1.1}
BUSY_HOST = {**QUIET_HOST, "others_cores": 1.4, "load_avg_1m": 3.2}


@pytest.mark.parametrize(("shift", "busy", "status"), [
    (0.5, False, "slower"),       # quiet host: +50 % is B's
    (0.5, True, "unstable"),      # busy host: contention can explain +50 % (up to 4x here)
    (9.0, True, "slower"),        # 10x: beyond what contention explains, a gate fails
    (0.0, True, "unstable"),      # nothing found on a busy host is not "same" either
])
def test_a_host_timed_ab_on_a_busy_host_calls_only_what_contention_cannot_explain(
        shift, busy, status):
    """Issue 20, item 6, for A/B: interleaving cancels contention common to both sides, not a
    burst on one side's blocks (the CI VM read an ONNX Runtime A/A as "B slower +55 %"
    beside other work). A busy interleaved phase is "unstable: host busy" unless the change
    is beyond what contention can explain; extension windows count with the first one."""
    r = synthetic(shift, seed=3, drift=0.0005)
    r["settings"]["tolerance"] = {"median": 0.05, "p99": 0.2}
    r["telemetry"] = {"host": QUIET_HOST}
    r["telemetry_extensions"] = [{"host": BUSY_HOST if busy else QUIET_HOST}]
    [v] = judge([r])
    assert v.status == status, v.reason
    if busy:
        assert "host busy" in v.reason or "contention explains" in v.reason


def test_ab_timing_table_reaches_both_sides_and_a_bad_one_stops_before_measuring(
        tmp_path, capsys):
    """``--timing KEY=VALUE`` is the two models' timing table (the same for A and B), e.g.
    batched timing for a case of tens of µs; a misspelt key or value, or the flag beside
    scenario files (whose cases carry their own), is an error naming it, and nothing runs."""
    out = tmp_path / "r"
    base = ["ab", "zoo:transformer", "zoo:transformer", "--shapes", "input_ids:1x8",
            "--out", str(out)]
    for bad, words in ((["--timing", "mdoe=batched"], "mdoe: Extra inputs"),
                       (["--timing", "mode=batchd"], "'per-iteration' or 'batched'")):
        assert main([*base, *bad]) == 2
        err = capsys.readouterr().err
        assert "key '--timing'" in err and words in err and "batch_iterations" in err
        assert not out.exists()
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\n')
    assert main(["ab", str(scenario), "--timing", "mode=batched", "--out", str(out)]) == 2
    assert "--timing applies to two models" in capsys.readouterr().err
    assert not out.exists()
    assert main([*base, "--timing", "mode=batched", "--timing", "batch_iterations=4",
                 "--duration", "0.4s", "--warmup", "50ms", "--rewarm", "5ms",
                 "--max-duration", "0", "--allow-undecided"]) in (0, 1)
    [rec] = json.loads((out / "ab-results.json").read_text())["ab"]
    for side in "ab":
        assert rec[side]["case"]["timing"]["mode"] == "batched"
        assert rec[side]["case"]["timing"]["batch_iterations"] == 4
