"""Shards and merge (harness.scale): balanced, exact shards; merged shards equal the unsharded
run; platforms, duplicates, missing and incomplete shards, and two runs into one folder."""

from __future__ import annotations

import argparse
import json

import pytest

from harness import api
from harness.baseline.store import SCHEMA as BASELINE_SCHEMA
from harness.baseline.store import BaselineStore
from harness.cli import main
from harness.errors import ConfigError
from harness.results import CaseResult
from harness.scale.merge import merge
from harness.scale.shard import Shard, assign, last_costs, units

MATRIX = """
name = "tiny"
[defaults]
batch = [1, 2, 4]
warmup = { min_time = "20ms", max_time = "100ms" }
stop = { rel_ci = "5%", min_samples = 10, min_time = "50ms", max_time = "200ms" }
# Wide enough that a shared 2-core runner's noise never decides a verdict here; the injected
# 20 ms on a well-under-1 ms case is far above it.
tolerance = { median = "300%", p99 = "1000%", throughput = "300%", memory = "1000%", build_time = "1000%" }
[[model]]
id = "transformer"
source = "zoo:transformer"
shapes = "input_ids:{batch}x16"
[[model]]
id = "gone"
source = "zoo:transformer"
shapes = "input_ids:{batch}x16"
batch = [1]
[[case]]
match = "tiny/gone/*"
skip = "kept out on purpose"
"""


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "x/2", "2", "1/2/3", "-1/2"])
def test_shard_values_are_checked(text, tiny_scenario, capsys):
    with pytest.raises(argparse.ArgumentTypeError):
        Shard.parse(text)
    with pytest.raises(SystemExit) as exc:
        main(["run", str(tiny_scenario), "--shard", text])
    assert exc.value.code == 2 and "i/N" in capsys.readouterr().err


def test_shards_are_exact_balanced_and_deterministic():
    costs = {f"s/m{i:02d}": float(c) for i, c in enumerate([9, 1, 1, 1, 8, 2, 2, 3, 7, 1])}
    shards = assign(costs, 3)
    assert sorted(c for s in shards for c in s) == sorted(costs)          # exactly the matrix
    assert shards == assign(dict(reversed(costs.items())), 3)             # order-free
    loads = [sum(costs[c] for c in s) for s in shards]
    assert max(loads) - min(loads) <= 1.0                                 # LPT: 12/12/11
    # not round-robin by id: the three dearest cases go to three different shards
    assert {i for i, s in enumerate(shards) for c in s if costs[c] >= 7} == {0, 1, 2}
    # an A/B pair never splits, even when that unbalances the shards
    pairs = [("s/m00", "s/m04")]
    together = assign(costs, 3, pairs)
    assert any({"s/m00", "s/m04"} <= set(s) for s in together)
    assert sorted(c for s in together for c in s) == sorted(costs)
    assert units(["a", "b", "c"], [("a", "c")]) in ([["a", "c"], ["b"]], [["b"], ["a", "c"]])
    # more shards than cases: the extra shards are empty, none is lost
    assert sorted(map(len, assign({"a": 1.0}, 3))) == [0, 0, 1]


def test_costs_come_from_the_newest_baseline_entry(tmp_path):
    store = BaselineStore(tmp_path)
    path = store.path("cpu-x", "s")
    path.parent.mkdir(parents=True)
    entry = lambda m, w, b: {"run_id": "r", "timing": {"measure_s": m, "warmup_s": w},  # noqa: E731
                             "build": {"build_time_s": b}}
    path.write_text(json.dumps({
        "schema": BASELINE_SCHEMA, "platform_id": "cpu-x", "scenario": "s", "platform": {},
        "cases": {"s/a": [entry(100, 100, 100), entry(2.0, 0.5, 0.5)],
                  "s/b": [entry(4.0, 1.0, None)], "s/c": [entry(1.0, 0.0, 0.0)]}}))
    costs = last_costs(store, "cpu-x", [("s/a", "s"), ("s/b", "s"), ("s/c", "s"), ("s/new", "s")])
    assert costs == {"s/a": 3.0, "s/b": 5.0, "s/c": 1.0, "s/new": 3.0}   # new: the median
    assert last_costs(store, "cpu-other", [("s/a", "s")]) == {"s/a": 1.0}


def _verdicts(run):
    # 'unstable' is the noisy 2-core runner's honest answer where 'pass' is meant: one class
    same = {"pass": "pass|unstable", "unstable": "pass|unstable"}
    return {c.id: same.get(c.verdict["status"], c.verdict["status"]) for c in run.cases}


def test_two_shards_merged_equal_the_unsharded_run(write_toml, tmp_path, capsys):
    scenario = write_toml(MATRIX, "tiny.toml")
    base, inject = tmp_path / "baselines", ["tiny/transformer/*/b4=20ms"]
    first = api.run([scenario], out_dir=tmp_path / "first", baselines=base)
    api.accept(tmp_path / "first" / "results.json", base, cases=["*/b1", "*/b4"])
    whole = api.run([scenario], out_dir=tmp_path / "whole", baselines=base, inject=inject)
    parts = [api.run([scenario], out_dir=tmp_path / f"s{i}", baselines=base, inject=inject,
                     shard=Shard(i, 2)) for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        assert part.run.shard["index"] == i and part.run.shard["count"] == 2
        assert part.run.shard["case_ids"] == [c.id for c in part.run.cases]
        assert part.run.scenarios == [{"name": "tiny"}]
    assert sorted(c for p in parts for c in p.run.shard["case_ids"]) == \
        sorted(c.id for c in whole.run.cases)

    code = main(["merge", str(parts[0].results_path), str(parts[1].results_path),
                 "--out", str(tmp_path / "merged"), "--baselines", str(base)])
    merged = api.load_results(tmp_path / "merged" / "results.json")
    assert sorted(c.id for c in merged.cases) == sorted(c.id for c in whole.run.cases)
    expected = {"tiny/transformer/onnxruntime/fp32/b4": "regression",
                "tiny/transformer/onnxruntime/fp32/b2": "new",
                "tiny/gone/onnxruntime/fp32/b1": "skipped"}
    assert _verdicts(merged) == _verdicts(whole.run)
    assert {k: v for k, v in _verdicts(merged).items() if k in expected} == expected
    assert code == whole.exit_code == 1
    assert [m["shard"] for m in merged.merged_from] == [{"index": 1, "count": 2},
                                                        {"index": 2, "count": 2}]
    assert merged.complete and first.exit_code == 0
    for name in ("index.html", "summary.md", "junit.xml"):
        assert (tmp_path / "merged" / name).is_file()
    assert len(list((tmp_path / "merged" / "runs").glob("*.json"))) == 1

    # A missing shard is an error naming it; so is a case measured in two runs.
    capsys.readouterr()
    assert main(["merge", str(parts[0].results_path), "--out", str(tmp_path / "m2")]) == 2
    assert "2/2" in capsys.readouterr().err
    assert main(["merge", str(parts[0].results_path), str(parts[1].results_path),
                 str(whole.results_path), "--out", str(tmp_path / "m3")]) == 2
    err = capsys.readouterr().err
    assert "measured twice" in err and str(whole.results_path) in err
    # The same run given twice (results.json and its runs/ copy) is read once.
    again = merge([parts[0].results_path, *(tmp_path / "s1" / "runs").glob("*.json"),
                   parts[1].results_path], tmp_path / "m4", base)
    assert len(again.run.cases) == len(whole.run.cases) and "read once" in again.notes[0]

    # Another platform's results stay apart: judged against its own (empty) baseline.
    other = json.loads(parts[1].results_path.read_text())
    other["platform_id"], other["platform"]["host"]["cpu"] = "cpu-other-2c", "Other CPU"
    other["shard"] = None
    (tmp_path / "other.json").write_text(json.dumps(other))
    both = merge([parts[0].results_path, parts[1].results_path, tmp_path / "other.json"],
                 tmp_path / "m5", base)
    assert both.platforms == [merged.platform_id, "cpu-other-2c"]
    foreign = [c for c in both.run.cases if c.platform_id == "cpu-other-2c"]
    assert len(foreign) == len(parts[1].run.cases)
    assert all(c.verdict["status"] in ("new", "skipped") for c in foreign)
    html = (tmp_path / "m5" / "index.html").read_text()
    assert f"cpu-other-2c: {foreign[0].id}" in html
    assert (tmp_path / "m5" / "platforms" / "cpu-other-2c.json").is_file()
    # ... and each platform's file is a run that can be accepted into its own store
    assert api.load_results(tmp_path / "m5" / "platforms" / "cpu-other-2c.json").platform_id \
        == "cpu-other-2c"


def _fake_run(tmp_path, name, scenario="s", complete=True, shard=None, cases=("s/a",)):
    run = api.new_run([{"name": scenario}])
    run.complete, run.shard = complete, shard
    for cid in cases:
        run.cases.append(CaseResult(
            id=cid, status="skipped", case={"scenario": scenario}, error="x"))
    path = tmp_path / name
    path.write_text(json.dumps(run.to_json()))
    return path


def test_merge_names_incomplete_shards_and_refuses_mixed_scenarios(tmp_path):
    one = _fake_run(tmp_path, "1.json", shard={"index": 1, "count": 2, "case_ids": ["s/a"]})
    two = _fake_run(tmp_path, "2.json", complete=False, cases=("s/b",),
                    shard={"index": 2, "count": 2, "case_ids": ["s/b", "s/c"]})
    out = merge([one, two], tmp_path / "out", tmp_path / "b")
    assert out.exit_code == 1 and not out.run.complete
    [problem] = out.problems
    assert str(two) in problem and "incomplete" in problem and "s/c" in problem
    other = _fake_run(tmp_path, "3.json", scenario="t", cases=("t/a",))
    with pytest.raises(ConfigError, match="different scenario sets"):
        merge([one, other], tmp_path / "out2", tmp_path / "b")
    mixed = merge([_fake_run(tmp_path, "4.json"), other], tmp_path / "out3", tmp_path / "b",
                  allow_mixed=True)
    # every case of these runs was skipped: nothing measured is "undecided" (3), not a pass
    assert [s["name"] for s in mixed.run.scenarios] == ["s", "t"] and mixed.exit_code == 3
    bad = _fake_run(tmp_path, "5.json", shard={"index": 1, "count": 3, "case_ids": []},
                    cases=())
    with pytest.raises(ConfigError, match="disagree on N"):
        merge([one, two, bad], tmp_path / "out4", tmp_path / "b")


def test_an_older_run_never_replaces_the_newer_results(tiny_scenario, tmp_path):
    out = tmp_path / "reports"
    first = api.run([tiny_scenario], out_dir=out, baselines=tmp_path / "b")
    data = json.loads((out / "results.json").read_text())
    data["started"] = "2999-01-01T00:00:00+00:00"      # as if a later run had finished first
    (out / "results.json").write_text(json.dumps(data))
    second = api.run([tiny_scenario], out_dir=out, baselines=tmp_path / "b")
    assert json.loads((out / "results.json").read_text())["run_id"] == first.run.run_id
    assert second.results_path == out / "runs" / f"{second.run.run_id}.json"
    assert (out / "runs" / second.run.run_id / "index.html").is_file()
    assert {p.stem for p in (out / "runs").glob("*.json")} == {first.run.run_id,
                                                               second.run.run_id}


def test_accept_refuses_a_merge_of_several_platforms(tiny_scenario, tmp_path):
    """A merged results.json that holds another platform's cases must not be filed under the
    first platform's baselines: accept names them and points to platforms/<id>.json."""
    out = api.run([tiny_scenario], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    data = json.loads(out.results_path.read_text())
    data["cases"][0]["platform_id"] = "nvidia-h200-580.159"
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"other platforms .*nvidia-h200-580\.159"):
        api.accept(mixed, tmp_path / "b")
