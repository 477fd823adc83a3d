"""The auto timing mode (harness.timing.mode): batched for CUDA-graph cases under 50 µs, one
choice per comparison, replayed by stored runs, and a change of mode called incomparable.

The choice itself needs CUDA events, which this machine lacks: the rule is tested on its
pure parts here, and where a comparison's preparations must agree, a host timer that
chooses as the CUDA-event timer does stands in for it (named so below). The GPU side is in
tests/test_gpu_device.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.adhoc import bench_case
from harness.baseline.verdict import evaluate_case
from harness.scenario.schema import Timing
from harness.stats import summarize
from harness.timing import mode
from harness.timing.host import HostTimer


def test_the_default_is_auto_and_only_a_short_cuda_graph_is_probed():
    assert Timing().mode == "auto"
    graph = Timing(cuda_graph=True)
    assert mode.fixed(graph, graph_replayed=True) is None            # the probe decides
    assert mode.fixed(Timing(), graph_replayed=False).mode == "per-iteration"
    assert mode.fixed(Timing(cold="l2-flush"), graph_replayed=True).mode == "per-iteration"
    given = mode.fixed(Timing(mode="batched", batch_iterations=7), graph_replayed=False)
    assert (given.mode, given.batch_iterations, given.reason) == ("batched", 7, "timing.mode")
    assert mode.fixed(Timing(mode="per-iteration"), True).reason == "timing.mode"


@pytest.mark.parametrize(("median_ms", "expected"), [
    (0.0139, ("batched", 20)),        # spin:10's per-iteration median on the H200
    (0.0443, ("batched", 20)),        # spin:40's
    (0.0500, ("per-iteration", 1)),   # the threshold itself is not under it
    (0.588, ("per-iteration", 1))])   # mobilenet_v3_small fp16 b8
def test_the_probe_batches_below_fifty_microseconds(median_ms, expected):
    choice = mode.choose(0.03, lambda: median_ms)
    assert (choice.mode, choice.batch_iterations) == expected
    assert choice.probe_ms == median_ms and choice.reason.startswith("auto: CUDA graph")
    assert choice.facts()["runs_per_sample"] == expected[1]


def test_a_slow_warm_up_is_not_probed():
    def probe():
        raise AssertionError("a case this slow needs no probe")

    choice = mode.choose(2.0, probe)
    assert choice.mode == "per-iteration" and "warm-up pace" in choice.reason


def test_a_choice_made_before_is_taken_where_the_auto_rule_applies_and_says_so():
    before = mode.choose(0.03, lambda: 0.0139)
    taken = mode.fixed(Timing(cuda_graph=True), True, before)
    assert (taken.mode, taken.batch_iterations, taken.probe_ms) == ("batched", 20, 0.0139)
    assert taken.reason == "auto, as chosen before: CUDA graph, median 13.9 µs < 50 µs"
    assert taken.taken() == taken                          # said once, however often taken
    assert mode.ModeChoice.from_facts(taken.facts()) == taken  # and recorded as it came
    # a given mode, or a case the rule does not reach any more, ignores it
    assert mode.fixed(Timing(mode="per-iteration"), True, before).reason == "timing.mode"
    assert mode.fixed(Timing(), False, before).mode == "per-iteration"
    for reason in ("timing.mode", "auto: not a CUDA-graph replay", "host timer: one call"):
        assert mode.ModeChoice.from_facts({"mode": "per-iteration", "mode_reason": reason}) \
            is None
    paced = mode.choose(2.0, lambda: 1.0)
    assert mode.ModeChoice.from_facts(paced.facts()) == paced


def _run(timing_facts, table_mode="auto"):
    return {"timing": {"timer": "cuda-event", **timing_facts},
            "case": {"timing": {"mode": table_mode, "batch_iterations": 10}}}


def test_recorded_mode_reads_the_choice_or_an_older_run_s_table():
    assert mode.recorded_mode(_run({"mode": "batched", "runs_per_sample": 20})) == ("batched", 20)
    # before the auto mode: the table said it (per-iteration was the default)
    assert mode.recorded_mode(_run({}, "per-iteration")) == ("per-iteration", 1)
    assert mode.recorded_mode(_run({}, "batched")) == ("batched", 10)
    assert mode.recorded_mode({"timing": {"timer": "host"}, "case": {}}) is None


def test_a_stored_run_replays_its_history_s_auto_choice_but_not_an_older_default(tmp_path):
    from harness.baseline.layout_count import plan_layouts
    from harness.baseline.store import BaselineStore
    from harness.runner import PlannedCase

    chosen = [_run({"mode": "batched", "runs_per_sample": 20,
                    "mode_reason": "auto: CUDA graph, median 13.9 µs < 50 µs",
                    "mode_probe_ms": 0.0139})]
    got = mode.replayed(chosen)
    assert (got.mode, got.batch_iterations, got.probe_ms) == ("batched", 20, 0.0139)
    # accepted before the auto mode existed (its table said per-iteration): not replayed
    assert mode.replayed([_run({"mode": "per-iteration"}, "per-iteration")]) is None
    assert mode.replayed([]) is None

    class History(BaselineStore):          # the store's one read, given the entries above
        def case_entries(self, platform_id, scenario, case_id):
            return chosen

    case = bench_case("calibration:spin", backend="calibration", options={"kernel_us": 10.0},
                      timing={"cuda_graph": True})
    [planned] = plan_layouts([PlannedCase(case, None)], History(tmp_path), "p")
    assert planned.case.chosen_mode == got
    # ...and it travels with the case, as a side's process reads it
    assert type(case).from_json(planned.case.to_json()).chosen_mode == got
    given = replace(case, timing=Timing(cuda_graph=True, mode="per-iteration"))
    [planned] = plan_layouts([PlannedCase(given, None)], History(tmp_path), "p")
    assert planned.case.chosen_mode is None


def _result(level, timing):
    x = level * np.exp(np.random.default_rng(3).normal(0, 0.002, 400))
    return {"status": "ok", "samples_ms": x.tolist(), "stats_ms": summarize(x),
            "backend": {"name": "calibration", "version": "1"}, "precision": "fp32",
            "timing": {"timer": "cuda-event", "cuda_graph": True, **timing},
            "case": {"timing": {"mode": "per-iteration", "batch_iterations": 10}}}


def test_a_run_timed_in_another_mode_than_its_baseline_is_incomparable_not_faster():
    """A batched figure lacks the event floor the per-iteration one carried (spin:10 on the
    H200: ~13.9 µs per iteration, ~11.5 µs batched, session 29): judged as a change, it
    would read as a 17 % improvement of an engine that did not change."""
    base = [_result(0.0139, {})]                               # per-iteration, old default
    now = _result(0.0115, {"mode": "batched", "runs_per_sample": 20})
    v = evaluate_case(now, base)
    assert v.status == "incomparable"
    assert "timing mode differs: per-iteration now batched x20" in v.reason
    same = _result(0.0139, {"mode": "per-iteration", "runs_per_sample": 1})
    assert evaluate_case(same, base).status != "incomparable"


class ChoosingHostTimer(HostTimer):
    """Test double of the CUDA-event timer's mode choice (no CUDA here): a host timer that
    probes once where no choice is given, as :meth:`CudaTimer.choose_mode` does."""

    probes = 0
    mode_choice = None              # auto, as a CUDA-event timer's before its warm-up

    def choose_mode(self, run, warm_pace_ms, given=None):
        if self.mode_choice is None:
            if given is None:
                ChoosingHostTimer.probes += 1
                given = mode.choose(warm_pace_ms, lambda: 0.0139)
            self.mode_choice = given
            self.runs_per_sample = given.batch_iterations
        return self.mode_choice


def test_every_preparation_of_both_sides_takes_the_first_one_s_choice(monkeypatch):
    """A/B on ONNX Runtime (real, CPU), each preparation's timer the double above: one probe
    for the comparison, every preparation (extensions too) in its mode, recorded."""
    from harness.ab.measure import ABSettings, measure_ab
    from harness.timing import session

    timers = []

    def make_timer(case, engine, *_):
        timers.append(ChoosingHostTimer(0.0))
        return timers[-1]

    monkeypatch.setattr(session, "make_timer", make_timer)
    ChoosingHostTimer.probes = 0
    case = bench_case("zoo:transformer", shapes="input_ids:1x8", warmup="20ms")
    extended = iter([1, 0])
    record = measure_ab(case, case, ABSettings(duration_s=0.2, rewarm_s=0.002, instances=2,
                                               max_duration_s=5.0),
                        extend=lambda record: next(extended))
    assert record["status"] == "ok", record["error"]
    assert len(timers) == 6 and ChoosingHostTimer.probes == 1      # 2 + 2, then 1 + 1 more
    assert len({t.mode_choice for t in timers}) == 1 and timers[0].mode_choice is not None
    assert all(t.runs_per_sample == 20 for t in timers)
    assert record["timing"]["mode"] == "batched" and record["timing"]["runs_per_sample"] == 20


def test_process_pairs_time_every_process_in_the_first_one_s_mode(monkeypatch):
    """``ab --processes``: each process chooses for itself unless told, so the first
    process's choice is handed to every later one (the side's process stands in below: the
    processes are GPU runs)."""
    import harness.ab.processes as processes

    seen = []

    def run_side(case, base, label, number):            # stands in for the side's process
        seen.append(case.chosen_mode and case.chosen_mode.mode)
        choice = case.chosen_mode or mode.choose(0.03, lambda: 0.0139)
        return {"side": label, "round": number, "status": "ok", "wall_s": 1.0,
                "timer": "cuda-event", **choice.facts(),
                "layout_figures": [{"seed": s, "median_ms": 0.011} for s in range(3)],
                "stats_ms": {"median": 0.011}, "samples_ms": [0.011] * 3}

    monkeypatch.setattr(processes, "run_side", run_side)
    case = bench_case("calibration:spin", backend="calibration",
                      options={"kernel_us": 10.0}, timing={"cuda_graph": True})
    record = processes.measure_processes(case, case, processes.ABSettings(processes=2))
    assert seen == [None, "batched", "batched", "batched"]
    assert record["timing"]["mode"] == "batched"
    assert record["timing"]["mode_reason"] == "auto: CUDA graph, median 13.9 µs < 50 µs"
    # going on from an interleaved comparison, its choice is the processes' from the start
    seen.clear()
    interleaved = {"timing": {"timer": "cuda-event", **mode.choose(0.03, lambda: 0.07).facts()},
                   "blocks": []}
    processes.measure_processes(case, case, processes.ABSettings(processes=2),
                                interleaved=interleaved)
    assert seen == ["per-iteration"] * 4


def test_further_layouts_of_a_run_take_the_first_layout_s_choice():
    from harness.results import CaseResult
    from harness.runner import same_mode

    case = bench_case("calibration:spin", backend="calibration", options={"kernel_us": 10.0},
                      timing={"cuda_graph": True})
    choice = mode.choose(0.03, lambda: 0.0139)
    first = CaseResult(id=case.id, status="ok", case=case.to_json(),
                       timing={"timer": "cuda-event", **choice.facts()})
    assert same_mode(case, first).chosen_mode == choice
    host = CaseResult(id=case.id, status="ok", case=case.to_json(),
                      timing={"timer": "host", **mode.per_iteration("host timer").facts()})
    assert same_mode(case, host) is case


def test_accepting_a_run_in_another_mode_than_its_history_needs_replace(tmp_path):
    """As a new backend version: the history before is another measurement, so a batched run
    does not join a per-iteration history unless the user starts a new one."""
    from harness.baseline.store import BaselineStore
    from harness.errors import ConfigError
    from harness.results import CaseResult, RunResult

    def run(run_id, timing):
        r = _result(0.0139, timing)
        case = CaseResult(id="s/spin/calibration/fp32/b1", status="ok",
                          case={"scenario": "s", "precision": "fp32", **r["case"]},
                          backend=r["backend"], samples_ms=r["samples_ms"], stats_ms=r["stats_ms"],
                          timing=r["timing"], throughput=1e3)
        return RunResult(run_id=run_id, started="2026-12-04T00:00:00+00:00",
                         platform={"host": {"cpu": "c"}, "gpu": None}, platform_id="p",
                         cases=[case], complete=True, finished="2026-12-04T00:00:01+00:00")

    store = BaselineStore(tmp_path)
    store.accept(run("old", {}))                                   # per-iteration, the table's
    batched = {"mode": "batched", "runs_per_sample": 20}
    with pytest.raises(ConfigError, match="timing mode differs: per-iteration now batched x20"):
        store.accept(run("new", batched))
    store.accept(run("new", batched), replace=True)
    assert [e["run_id"] for e in store.history("p")["s/spin/calibration/fp32/b1"]] == ["new"]
