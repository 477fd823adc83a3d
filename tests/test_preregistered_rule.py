"""benchmarks/device/failclosed.py --rule: session 19's pre-registered rule for process pairs
over base pads, applied to saved trials (the device panel's records), so a session reads
"open", "met", "NOT MET" or "FAILED" instead of counting by hand; and --going-on, which of
the saved interleaved trials the default escalation (on since the chain's rule was met)
would send on in processes; and --default-aa-rule, session 26's rule for the A/A target at
that default."""

from __future__ import annotations

import pytest
from benchmark_modules import ROOT, load

failclosed = load("device.failclosed")
RUNS = ROOT / "docs" / "device-runs"


def _records(counts: dict[tuple[object, str], int]) -> list[dict]:
    return [{"status": "ok", "experiment": {"arch": "squeezenet1_1", "slowdown": level},
             "verdict": {"status": verdict}}
            for (level, verdict), n in counts.items() for _ in range(n)]


def _chain(records: list[dict]) -> str:
    """The escalated chain's rule on ``records`` (one workload): its one line."""
    [line] = failclosed.preregistered(records, needs=failclosed.CHAIN_RULE_LEVELS)
    return line


def test_the_rule_is_open_until_every_level_has_its_trials_and_then_decides():
    enough = {(0.0, "same"): 19, (0.0, "undecided"): 1, ("moved", "undecided"): 20,
              (0.01, "slower"): 20}
    assert failclosed.preregistered(_records(enough))[0].endswith(": met")
    missed = {**enough, (0.01, "slower"): 18, (0.01, "undecided"): 2}
    assert failclosed.preregistered(_records(missed))[0].endswith("NOT MET: +1 % found 90%")
    short = {**enough, ("moved", "undecided"): 14}
    assert failclosed.preregistered(_records(short))[0].endswith("open: needs moved 6 more")
    # one called A/A fails it at any count, moved or not
    for level in (0.0, "moved"):
        called = {**short, (level, "faster"): 1}
        assert "FAILED: 1 A/A called" in failclosed.preregistered(_records(called))[0]


def test_the_rule_on_the_saved_h200_trials():
    """As built (s19a) one moved A/A was called "faster"; the revised design's trials
    (s19b/c and sessions 20, 21, 23 and 24) meet it, 20 a level. Session 22's trials are not
    here: their raw records were lost with that session. The escalated chain's trials
    (sessions 24-26) meet their own rule at the 20th +1 % trial (session 26)."""
    def records(*names):
        return failclosed.load_records([RUNS / n for n in names])

    assert "FAILED: 1 A/A called" in failclosed.preregistered(
        records("session19/panel-2-p3-s19a.json"))[0]
    revised = records("session19/panel-2-p3-s19b.json", "session19/panel-2-p3-s19c.json",
                      *(f"session2{s}/panel-2-p3-s2{s}{t}.json"
                        for s, tags in (("0", "abc"), ("1", "abc"), ("3", "ab"), ("4", "ab"))
                        for t in tags))
    assert failclosed.preregistered(revised) == [
        "squeezenet1_1: moved 20, A/A 20, +1 % slower 20 of 20: met"]
    # the escalated chain's trials are not the process pairs' (their own rule, below)
    chain = records("session24/panel-2-e3-s24c.json")
    assert _chain(chain) == (
        "squeezenet1_1: moved 0, A/A 1, +1 % slower 2 of 2: open: needs +1 % 18 more")
    chain += records(*(f"session25/panel-2-e3-s25{t}.json" for t in "abcd"))
    assert _chain(chain) == (
        "squeezenet1_1: moved 2, A/A 1, +1 % slower 13 of 13: open: needs +1 % 7 more")
    chain += records(*(f"session26/panel-2-e3-s26{t}.json" for t in "abc"))
    assert _chain(chain) == "squeezenet1_1: moved 3, A/A 1, +1 % slower 20 of 20: met"


def test_the_chain_rule_needs_only_its_found_share_and_still_fails_on_a_called_a_a():
    """The escalated chain's rule (session 24): +1 % slower in >= 95 % of 20 or more; its
    A/As need no count but one called fails it."""
    def chain(counts):
        return _chain(_records(counts))

    found = {(0.01, "slower"): 19, (0.01, "undecided"): 1, (0.0, "same"): 2}
    assert chain(found).endswith(": met")
    # the process pairs' rule on the same records is still open: its A/As are counted
    assert "open: needs moved 20, A/A 18" in failclosed.preregistered(_records(found))[0]
    missed = {**found, (0.01, "slower"): 18, (0.01, "undecided"): 2}
    assert chain(missed).endswith("NOT MET: +1 % found 90%")
    assert "FAILED: 1 A/A called" in chain({**found, ("moved", "faster"): 1})


def test_the_found_share_is_over_the_first_20_trials_as_they_ran():
    """Trials run past the 20th +1 % do not change the outcome either way (session 25: the
    stopping point fixed before the chain's 14th +1 % trial); an A/A called after it still
    fails the rule."""
    def ran(statuses, level=0.01, hour=10):
        recs = [{**_records({(level, s): 1})[0], "started": f"2026-12-05T{hour}:{i:02d}:00"}
                for i, s in enumerate(statuses)]
        return recs[::-1]                       # files need not list them in run order

    late_misses = ran(["slower"] * 20 + ["undecided"] * 3)
    assert _chain(late_misses).endswith("slower 20 of 20 (the first 20; 3 run after): met")
    early_misses = ran(["undecided"] * 2 + ["slower"] * 28)
    assert _chain(early_misses).endswith("NOT MET: +1 % found 90%")
    called_late = [*late_misses, *ran(["faster"], level=0.0, hour=11)]
    assert "FAILED: 1 A/A called" in _chain(called_late)


def test_a_misspelt_level_is_refused_rather_than_needing_nothing():
    with pytest.raises(ValueError, match=r"unknown levels \['\+1%'\]"):
        failclosed.preregistered(_records({(0.01, "slower"): 1}), needs=("+1%",))


def test_the_default_escalation_reaches_only_the_saved_trials_left_undecided_by_layouts():
    """Session 10's A/As at the then defaults: mobilenet_v3_small's undecided ones (layouts
    0.54 % apart) would now go on in processes; its "same" ones and spin:1000's, decided
    in the interleaved phase, would not: so those counts stand at the new default."""
    records = failclosed.load_records(
        [RUNS / "session10" / name for name in ("panel-1-s10b.json.gz", "panel-9-s10.json.gz")])
    assert failclosed.going_on(records).splitlines()[2:] == [
        "| mobilenet_v3_small | +0.0% | 2 | undecided 1 of 1 | none |",
        "| mobilenet_v3_small | moved | 2 | undecided 1 of 1 | none |",
        "| spin:1000 | +0.0% | 10 | none | none |"]


def _at_default(level: object, verdict: str, **settings: object) -> dict:
    """An A/A record that went on in processes from its interleaved looks (so no verdict
    of its own decides whether it ran at the defaults), with ``settings`` changed."""
    from harness.ab.measure import ABSettings
    [record] = _records({(level, verdict): 1})
    return {**record, "method": "processes", "interleaved": {"looks": 3},
            "started": "2026-12-05T10:00:00+00:00",
            "settings": {**ABSettings().__dict__, "processes": 3, "escalate_processes": 3,
                         **settings}}


def test_the_default_a_a_rule_counts_only_a_as_measured_at_the_defaults():
    """Session 26's rule for the A/A target at the default escalation: 20 A/As, moved
    included, none called. A/As measured otherwise are named and not counted, so a panel
    run with other settings cannot fill the count; an extended trial (more preparations
    recorded in ``instances``) still counts."""
    def rule(records):
        [line] = failclosed.default_aa_rule(records)
        return line

    at = [_at_default(0.0, "same") for _ in range(12)]
    at += [_at_default("moved", "undecided") for _ in range(8)]
    assert rule(at) == "squeezenet1_1: A/A at the defaults 20 (same 12, undecided 8): met"
    assert rule(at[:19]).endswith("open: needs 1 more")
    extended = {**_at_default(0.0, "same", instances=12),
                "extensions": [{"instances_added": 6}]}
    assert rule([*at[:19], extended]).endswith(": met")
    asked = [_at_default(0.0, "same", instances=4), _at_default(0.0, "same", redraw=True)]
    assert rule(at[:19] + asked) == (
        "squeezenet1_1: A/A at the defaults 19 (same 12, undecided 7); not counted, not at "
        "the defaults: 1 (instances), 1 (redraw): open: needs 1 more")
    # another escalation than the default's, or explicit --processes (no interleaved
    # looks): not the default's path
    assert "1 (escalate_processes)" in rule([*at[:19], _at_default(0.0, "same",
                                                                  escalate_processes=5)])
    explicit = {**at[0], "interleaved": None}
    assert "1 (processes asked)" in rule([*at[:19], explicit])
    # an unset escalation before the default went on meant none
    early = {**at[0], "settings": {**at[0]["settings"], "escalate_processes": None},
             "started": "2026-12-02T10:00:00+00:00"}
    assert "1 (before the default escalation)" in rule([*at[:19], early])
    # one called A/A fails it at any count; a +1 % trial is not an A/A
    called = [*at[:5], _at_default("moved", "faster"), _at_default(0.01, "slower")]
    assert rule(called) == (
        "squeezenet1_1: A/A at the defaults 6 (same 5, faster 1): FAILED: 1 A/A called")


def test_the_default_a_a_rule_on_the_saved_h200_trials():
    """Session 27's A/As at the defaults (ESCALATE unset): 17 on mobilenet_v3_small, 10 on
    spin:10, none called; 6 and 2 went on in processes. Session 10's A/As, measured
    before the default went on (when an unset escalation meant none), do not count."""
    records = failclosed.load_records(sorted((RUNS / "session27").glob("panel-*-default-*.json")))
    assert failclosed.default_aa_rule(records) == [
        "mobilenet_v3_small: A/A at the defaults 17 (same 15, undecided 2): open: needs 3 more",
        "spin:10: A/A at the defaults 10 (same 7, undecided 3): open: needs 10 more"]
    old = failclosed.load_records([RUNS / "session10" / "panel-1-s10b.json.gz"])
    assert failclosed.default_aa_rule(old) == [
        "mobilenet_v3_small: A/A at the defaults 0 (none); not counted, not at the "
        "defaults: 4 (before the default escalation): open: needs 20 more"]


def test_the_default_a_a_rule_is_met_by_sessions_27_and_28():
    """Session 28 added 5 mobilenet_v3_small and 16 spin:10 A/As at the defaults, none
    called, and 22 injected-slowdown trials, which are not A/As and leave the count alone:
    session 26's rule is met on both workloads, from the committed raw records alone."""
    files = sorted(RUNS.glob("session2[78]/panel-*-default-*.json"))
    assert len(files) == 8
    assert failclosed.default_aa_rule(failclosed.load_records(files)) == [
        "mobilenet_v3_small: A/A at the defaults 22 (same 20, undecided 2): met",
        "spin:10: A/A at the defaults 26 (same 21, undecided 5): met"]


def test_spin10_one_percent_at_the_default_is_not_met_by_its_rule():
    """Session 28's rule for spin:10's +1 % at the defaults, written before session 29's
    top-up: over the first 20 in run order (s28c's 14, then s29a's), 19 or more "slower".
    18 were (s29a's first trial went on in processes and ended undecided); the two trials
    that ran after the 20th do not count, whatever they said."""
    files = [RUNS / "session28" / "panel-7-default-s28c.json",
             RUNS / "session29" / "panel-7-default-s29a.json"]
    records = failclosed.load_records(files)
    assert _chain(records) == ("spin:10: moved 0, A/A 0, +1 % slower 18 of 20 (the first 20; "
                               "2 run after): NOT MET: +1 % found 90%")
    # with session 29's mobilenet_v3_small slice the A/A rule still holds on both
    every = failclosed.load_records(sorted(RUNS.glob("session2[789]/panel-*-default-*.json")))
    assert failclosed.default_aa_rule(every) == [
        "mobilenet_v3_small: A/A at the defaults 26 (same 24, undecided 2): met",
        "spin:10: A/A at the defaults 26 (same 21, undecided 5): met"]


def test_batched_timing_meets_its_rule_on_the_two_unseen_kernels():
    """Session 29's rule for batched timing (docs/device-runs/README.md), on kernels of 20 and
    40 µs that no default and no session-29 figure saw: at ab's defaults with 20 replays
    between two events, >= 20 A/As none called and "slower" in >= 19 of the first 20 +1 %
    trials. Session 30 ran them: met on both, so the auto timing mode (harness.timing.mode)
    batches CUDA-graph cases under 50 µs. The plain-default control beside them was cut
    short by the device budget: 8 and 7 +1 % trials, every one "slower"."""
    run = RUNS / "session30"
    batched = failclosed.load_records(sorted(run.glob("panel-spinb*-s30*.json")))
    assert len(batched) == 80
    assert failclosed.preregistered(batched, needs=("A/A", "+1 %")) == [
        "spin-batched:20: moved 0, A/A 20, +1 % slower 20 of 20: met",
        "spin-batched:40: moved 0, A/A 20, +1 % slower 20 of 20: met"]
    control = failclosed.load_records([run / "panel-spin2040-s30e.json"])
    assert failclosed.preregistered(control, needs=failclosed.CHAIN_RULE_LEVELS) == [
        "spin:20: moved 0, A/A 0, +1 % slower 8 of 8: open: needs +1 % 12 more",
        "spin:40: moved 0, A/A 0, +1 % slower 7 of 7: open: needs +1 % 13 more"]


def test_a_spin_workload_the_auto_mode_batched_is_tabulated_apart():
    """spin:10 ran per iteration until session 30 and is batched by the auto mode since:
    the panel names the two apart, so a rule over one never counts the other."""
    batched = {"timing": {"mode": "batched", "runs_per_sample": 20}}
    assert failclosed.tabulated_as("spin:10", batched) == "spin:10 (auto: batched)"
    assert failclosed.tabulated_as("spin:10", {"timing": {"mode": "per-iteration"}}) == "spin:10"
    assert failclosed.tabulated_as("spin-batched:20", batched) == "spin-batched:20"
    assert failclosed.tabulated_as("resnet18", batched) == "resnet18"


def test_spin10_at_the_auto_default_meets_its_rule():
    """Session 30's rule for spin:10 at the new default (auto, so batched x20), written
    before session 31's trials: >= 20 A/As none called and "slower" in >= 19 of the first 20
    +1 % trials in run order (s31a, s31b, then the s31c top-up). 19 were: the last went on in
    processes and ended undecided, as did the two undecided A/As; the per-iteration spin:10
    trials of sessions 28-29 are tabulated under another name and count for neither."""
    run = RUNS / "session31"
    files = [run / f"panel-spin10-auto-s31{part}.json" for part in "abc"]
    records = failclosed.load_records(files)
    assert len(records) == 40
    assert _chain(records) == "spin:10 (auto: batched): moved 0, A/A 20, +1 % slower 19 of 20: met"
    assert failclosed.default_aa_rule(records) == [
        "spin:10 (auto: batched): A/A at the defaults 20 (same 18, undecided 2): met"]
    assert failclosed.going_on(records).splitlines()[2:] == [
        "| spin:10 (auto: batched) | +0.0% | 18 | none | undecided 2 |",
        "| spin:10 (auto: batched) | +1.0% | 19 | none | undecided 1 |"]
    earlier = failclosed.load_records([RUNS / "session29" / "panel-7-default-s29a.json"])
    assert {failclosed.tabulated_as(r["experiment"]["arch"], r) for r in earlier} == {"spin:10"}
