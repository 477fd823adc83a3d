"""benchmarks/device/failclosed.py --rule: session 19's pre-registered rule for process pairs
over base pads, applied to saved trials (the device panel's records), so a session reads
"open", "met", "NOT MET" or "FAILED" instead of counting by hand."""

from __future__ import annotations

import json

from benchmark_modules import ROOT, load

failclosed = load("device.failclosed")
RUNS = ROOT / "docs" / "device-runs"


def _records(counts: dict[tuple[object, str], int]) -> list[dict]:
    return [{"status": "ok", "experiment": {"arch": "squeezenet1_1", "slowdown": level},
             "verdict": {"status": verdict}}
            for (level, verdict), n in counts.items() for _ in range(n)]


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
    (s19b/c and sessions 20, 21 and 23) are all consistent with it, and short of 20 a level.
    Session 22's trials are not here: their raw records were lost with that session."""
    def records(*names):
        return [r for n in names for r in json.loads((RUNS / n).read_text())["records"]]

    assert "FAILED: 1 A/A called" in failclosed.preregistered(
        records("session19/panel-2-p3-s19a.json"))[0]
    revised = records("session19/panel-2-p3-s19b.json", "session19/panel-2-p3-s19c.json",
                      *(f"session2{s}/panel-2-p3-s2{s}{t}.json"
                        for s, tags in (("0", "abc"), ("1", "abc"), ("3", "ab")) for t in tags))
    assert failclosed.preregistered(revised) == [
        "squeezenet1_1: moved 17, A/A 16, +1 % slower 17 of 17: open: needs moved 3, A/A 4, "
        "+1 % 3 more"]
