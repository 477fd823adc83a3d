from __future__ import annotations

import json
import threading

import pytest

from harness.baseline.store import BaselineStore
from harness.baseline.verdict import compare_case, exit_code
from harness.errors import ConfigError
from harness.results import CaseResult, RunResult
from harness.verdict import Verdict


def stats(median: float, half: float = 0.01) -> dict:
    return {"median": median, "median_ci_low": median - half, "median_ci_high": median + half,
            "n": 100}


def current(median: float, half: float = 0.01, **kw) -> dict:
    return {"status": "ok", "stats_ms": stats(median, half),
            "backend": {"name": "onnxruntime", "version": "1"}, "precision": "fp32", **kw}


def entry(median: float, half: float = 0.01) -> dict:
    return {"stats_ms": stats(median, half), "backend": {"name": "onnxruntime", "version": "1"},
            "precision": "fp32"}


@pytest.mark.parametrize(("cur", "half", "status"), [
    (1.00, 0.01, "pass"),
    (1.20, 0.01, "regression"),
    (1.20, 0.30, "unstable"),      # beyond tolerance but within the noise: no false alarm
    (1.04, 0.001, "pass"),         # statistically clear but within tolerance
    (0.80, 0.01, "improvement"),
])
def test_verdict_rules(cur, half, status):
    v = compare_case(current(cur, half), [entry(1.0)], tolerance=0.05)
    assert v["status"] == status, v
    assert v["change"] == pytest.approx(cur - 1.0)


def test_verdict_uses_spread_of_baseline_runs():
    # two accepted runs 1.0 and 1.12: a run at 1.10 is inside their range -> pass
    v = compare_case(current(1.10), [entry(1.0), entry(1.12)], tolerance=0.05)
    assert v["status"] == "pass" and v["baseline_runs"] == 2


def test_verdict_special_statuses():
    assert compare_case(current(1.0), [], 0.05)["status"] == "new"
    assert compare_case({"status": "failed", "error": "boom"}, [entry(1)], 0.05)["status"] \
        == "failed"
    assert compare_case({"status": "skipped", "error": "no GPU"}, [], 0.05)["reason"] == "no GPU"
    other = current(1.0, precision="fp16")
    assert compare_case(other, [entry(1.0)], 0.05)["status"] == "incomparable"


def test_exit_code():
    assert exit_code([Verdict("pass"), Verdict("new"), Verdict("skipped")]) == 0
    assert exit_code([Verdict("pass"), Verdict("regression")]) == 1
    assert exit_code([Verdict("failed")]) == 1
    assert exit_code([Verdict("failed")], fail_on=("regression",)) == 0


def _run(run_id: str, median: float, cpu: str = "cpu-a") -> RunResult:
    case = CaseResult(id="s/m/onnxruntime/fp32/b1", status="ok",
                      case={"scenario": "s", "precision": "fp32"},
                      backend={"name": "onnxruntime", "version": "1"},
                      samples_ms=[median] * 5, stats_ms=stats(median))
    return RunResult(run_id=run_id, started="t", platform={"host": {"cpu": cpu, "cores": 2,
                                                                     "machine": "x"},
                                                            "gpu": None},
                     platform_id="p1", cases=[case], complete=True)


def test_baseline_round_trip_and_history(tmp_path):
    store = BaselineStore(tmp_path)
    for i in range(12):
        store.accept(_run(f"r{i}", 1.0 + i / 100), keep=10)
    run = _run("now", 1.0)
    entries, diffs = store.entries(run, run.cases[0])
    assert diffs == [] and len(entries) == 10
    assert [e["run_id"] for e in entries] == [f"r{i}" for i in range(2, 12)]
    data = json.loads(store.path("p1", "s").read_text())
    assert data["schema"] == "trt-harness/baseline/1"
    # accepting the same run twice does not duplicate it
    store.accept(_run("r11", 1.11))
    assert len(store.entries(run, run.cases[0])[0]) == 10


def test_baseline_refuses_other_platform(tmp_path):
    store = BaselineStore(tmp_path)
    store.accept(_run("a", 1.0))
    with pytest.raises(ConfigError, match="platform differs"):
        store.accept(_run("b", 1.0, cpu="cpu-b"))
    run = _run("c", 1.0, cpu="cpu-b")
    assert store.entries(run, run.cases[0])[1] == ["host cpu: 'cpu-a' vs 'cpu-b'"]


def test_concurrent_accepts_do_not_corrupt(tmp_path):
    store = BaselineStore(tmp_path)
    errors = []

    def accept(i):
        try:
            store.accept(_run(f"t{i}", 1.0), keep=100)
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    run = _run("x", 1.0)
    assert len(store.entries(run, run.cases[0])[0]) == 8


def test_entries_parse_each_file_once_and_see_rewrites(tmp_path, monkeypatch):
    store = BaselineStore(tmp_path)
    store.accept(_run("a", 1.0))
    loads = []
    real = BaselineStore.load
    monkeypatch.setattr(BaselineStore, "load",
                        lambda self, *a: loads.append(a) or real(self, *a))
    run = _run("now", 1.0)
    for _ in range(5):
        assert len(store.entries(run, run.cases[0])[0]) == 1
    assert len(loads) == 1
    store.accept(_run("b", 1.1))          # the file changes: the next lookup reads it again
    assert len(store.entries(run, run.cases[0])[0]) == 2
