"""The Dask executor on a real ``distributed.LocalCluster`` (CPU, two worker processes): the
quick-start runs, and a worker that dies mid-case fails that case while the rest complete."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness import api
from harness.cli import main
from harness.scale.dask_executor import DaskExecutor
from harness.scale.interference import mark_concurrent

pytest.importorskip("distributed")

QUICKSTART = Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.toml"


def test_local_cluster_runs_the_quickstart(tmp_path, capsys):
    out = tmp_path / "reports"
    code = main(["run", str(QUICKSTART), "--quick", "--executor", "dask", "--workers", "2",
                 "--out", str(out), "--baselines", str(tmp_path / "b")])
    assert code == 0, capsys.readouterr().err
    run = api.load_results(out / "results.json")
    expected = [c.id for c in api.list_cases([QUICKSTART])]
    assert [c.id for c in run.cases] == expected             # the matrix's order
    assert all(c.status == "ok" and c.verdict["status"] == "new" for c in run.cases)
    assert run.complete and "dask" in run.startup_s and "dask_workers" in run.startup_s
    workers = {c.timing["worker"] for c in run.cases}
    assert len(workers) == 2 and all(w.startswith("tcp://") for w in workers)
    # each worker started (harness modules, backends, model sources) before its first
    # case, which reports that start-up; no later case carries any
    for w in workers:
        ran = sorted((c for c in run.cases if c.timing["worker"] == w),
                     key=lambda c: c.timing["started_at"])
        assert set(ran[0].timing["worker_startup_s"]) == {"onnxruntime"}
        assert all("worker_startup_s" not in c.timing for c in ran[1:])
    assert all(c.platform_id is None for c in run.cases)    # the client's platform
    # two workers, one case each at a time: every case ran beside at most one other at once,
    # and some ran beside another
    assert any(c.timing["concurrent_with"] for c in run.cases)
    for c in run.cases:
        t = c.timing
        assert t["finished_at"] > t["started_at"] and t["host"]
        assert "measure_s" in t and c.id not in t["concurrent_with"]
    assert (out / "index.html").is_file()


def test_a_worker_killed_mid_case_fails_that_case_only(write_toml, tmp_path, monkeypatch):
    (tmp_path / "killer.py").write_text(textwrap.dedent("""
        import os

        def die(*args, **kwargs):
            os._exit(3)       # the worker process dies in the middle of the case
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = write_toml("""
        name = "k"
        [defaults]
        batch = [1, 2]
        warmup = { min_time = "20ms", max_time = "100ms" }
        stop = { rel_ci = "5%", min_samples = 10, min_time = "50ms", max_time = "200ms" }
        [[model]]
        id = "transformer"
        source = "zoo:transformer"
        shapes = "input_ids:{batch}x16"
        [[model]]
        id = "killer"
        source = "zoo:transformer"
        shapes = "input_ids:{batch}x16"
        batch = [1]
        post = "killer:die"
        """, "k.toml")
    outcome = api.run([scenario], out_dir=tmp_path / "out", baselines=tmp_path / "b",
                      executor=DaskExecutor(workers=2))
    by_id = {c.id: c for c in outcome.run.cases}
    killed = by_id["k/killer/onnxruntime/fp32/b1"]
    assert killed.status == "failed" and "worker" in killed.error and "died" in killed.error
    assert killed.verdict["status"] == "failed" and outcome.exit_code == 1
    others = [c for c in outcome.run.cases if c is not killed]
    assert len(others) == 2 and all(c.status == "ok" for c in others)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["complete"] and len(saved["cases"]) == 3


def test_a_worker_that_joined_late_starts_on_its_first_case(tiny_scenario, monkeypatch):
    from harness.scale import dask_executor

    monkeypatch.setattr(dask_executor, "_started", set())
    monkeypatch.setattr(dask_executor, "_startup", {})
    case = api.list_cases([tiny_scenario])[0]
    first = dask_executor.run_on_worker(case, str(tiny_scenario.parent))
    again = dask_executor.run_on_worker(case, str(tiny_scenario.parent))
    assert first.status == again.status == "ok"
    assert set(first.timing["worker_startup_s"]) == {"onnxruntime"}
    assert "worker_startup_s" not in again.timing and again.timing["worker"] is None


def test_the_clusters_started_here_do_not_profile_their_workers():
    import dask

    from harness.scale.dask_executor import SCHEDULER_CONFIG

    # the worker's sampling profiler would walk every thread's stack every 10 ms inside the
    # process whose cases are being timed; the Nanny hands this config to its worker
    with dask.config.set(SCHEDULER_CONFIG):
        assert dask.config.get("distributed.worker.profile.enabled") is False


def test_exclusive_runs_every_case_alone(tiny_scenario, tmp_path):
    outcome = api.run([tiny_scenario], out_dir=tmp_path / "out", baselines=tmp_path / "b",
                      executor=DaskExecutor(workers=2, exclusive=True),
                      select=["*"], inject=None, quick=True)
    assert [c.status for c in outcome.run.cases] == ["ok"]
    assert outcome.run.cases[0].timing["concurrent_with"] == []


def test_executor_options_are_checked(tiny_scenario, capsys):
    assert main(["run", str(tiny_scenario), "--executor", "spark"]) == 2
    assert "--executor" in capsys.readouterr().err
    assert main(["run", str(tiny_scenario), "--workers", "2"]) == 2
    assert main(["run", str(tiny_scenario), "--executor", "dask://h:8786", "--workers", "2"]) == 2
    assert DaskExecutor.from_option("dask://sched:8786").address == "tcp://sched:8786"


def test_concurrency_is_read_from_the_timestamps():
    from harness.results import CaseResult

    def case(cid, start, end, host="h"):
        return CaseResult(id=cid, status="ok", case={},
                          timing={"started_at": start, "finished_at": end, "host": host})

    cases = [case("a", 0, 10), case("b", 5, 15), case("c", 10, 20), case("d", 0, 30, "other"),
             CaseResult(id="e", status="skipped", case={})]
    mark_concurrent(cases)
    assert [c.timing.get("concurrent_with") for c in cases] == [["b"], ["a", "c"], ["b"], [],
                                                                None]
