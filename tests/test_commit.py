"""The commit a run measured: read from git, carried by results, baseline entries, the export,
`baseline history` and the report's history plot; absent without git, never an error."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness import commit
from harness.baseline import lifecycle
from harness.baseline.store import BaselineStore
from harness.export import to_pytest_benchmark
from harness.report.view import history_view
from harness.results import CaseResult, RunResult, load_results

PYTEST_BENCHMARK_KEYS = {"id", "time", "author_time", "dirty", "project", "branch"}


def _git(repo, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "proj"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "scenario.toml").write_text('name = "s"\n')
    _git(root, "add", "scenario.toml")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_commit_of_a_checkout(repo):
    info = commit.commit_info(repo / "scenario.toml")      # a file: its folder's checkout
    assert info is not None and set(info) == set(commit.KEYS)
    assert info["sha"] == _git(repo, "rev-parse", "HEAD") and len(info["sha"]) == 40
    assert info["branch"] == "main" and info["dirty"] is False
    assert info["project"] == "proj" and info["time"] and info["author_time"]
    (repo / "untracked.txt").write_text("x")                # untracked: still clean
    assert commit.commit_info(repo)["dirty"] is False
    (repo / "scenario.toml").write_text('name = "t"\n')     # a tracked file changed: dirty
    assert commit.commit_info(repo)["dirty"] is True
    assert commit.short(commit.commit_info(repo)) == info["sha"][:8] + "+"
    assert commit.describe(commit.commit_info(repo)) == f"{info['sha'][:8]} (main, dirty)"
    _git(repo, "checkout", "-q", "--detach")
    assert commit.commit_info(repo)["branch"] is None


def test_no_commit_outside_git_or_without_git(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    assert commit.commit_info(plain) is None
    assert commit.commit_info(tmp_path / "does" / "not" / "exist") is None
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))   # no git at all
    assert commit.commit_info(repo) is None
    assert commit.short(None) is None and commit.describe(None) is None


def _run(run_id: str, median: float, at: dict | None) -> RunResult:
    stats = {"n": 5, "median": median, "median_ci_low": median * 0.99,
             "median_ci_high": median * 1.01, "p99": median * 1.1}
    case = CaseResult(id="s/m/onnxruntime/fp32/b1", status="ok",
                      case={"scenario": "s", "precision": "fp32", "batch": 1},
                      backend={"name": "onnxruntime", "version": "1"},
                      samples_ms=[median] * 5, stats_ms=stats)
    return RunResult(run_id=run_id, started="2026-01-01T00:00:00+00:00",
                     platform={"host": {"cpu": "c", "cores": 2, "machine": "x"}, "gpu": None},
                     platform_id="p1", cases=[case], complete=True, commit=at)


AT = {"sha": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": True,
      "time": "2026-01-01T00:00:00+00:00", "author_time": "2025-12-31T00:00:00+00:00",
      "project": "proj"}


def test_export_fills_commit_info():
    doc = to_pytest_benchmark(_run("r1", 1.0, AT))
    info = doc["commit_info"]
    assert set(info) == PYTEST_BENCHMARK_KEYS
    assert info == {"id": AT["sha"], "time": AT["time"], "author_time": AT["author_time"],
                    "dirty": True, "project": "proj", "branch": "main"}
    assert doc["machine_info"]["trt_harness_run_id"] == "r1"
    bare = to_pytest_benchmark(_run("r1", 1.0, None))["commit_info"]
    assert set(bare) == PYTEST_BENCHMARK_KEYS
    assert bare["id"] == "unversioned" and bare["branch"] == "(unknown)" and not bare["dirty"]


def test_results_and_baseline_carry_the_commit(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_run("r1", 1.0, AT).to_json()))
    assert load_results(path).commit == AT
    old = _run("r0", 1.0, None).to_json()
    del old["commit"]                                      # a results file from before
    path.write_text(json.dumps(old))
    assert load_results(path).commit is None
    store = BaselineStore(tmp_path / "b")
    store.accept(load_results(path))
    store.accept(_run("r1", 1.0, AT))
    entries = store.history("p1")["s/m/onnxruntime/fp32/b1"]
    assert [e.get("commit") for e in entries] == [None, AT]
    text = lifecycle.history(tmp_path / "b", "p1")
    assert "commit 01234567 (main, dirty)" in text
    assert "run r0  median" in text                        # none recorded: nothing said


def test_history_plot_names_the_commits():
    entries = [{"run_id": f"r{i}", "stats_ms": {"median": 1.0 + i / 100},
                "commit": dict(AT, sha=f"{i:07d}" + "f" * 33, dirty=False)} for i in range(3)]
    entries[0].pop("commit")
    run = _run("now", 1.05, AT)
    view = history_view(run.cases[0], entries, run.commit)
    assert [r["commit"] for r in view["rows"]] == [None, "0000001f", "0000002f", "01234567+"]
    plot = str(view["plot"])
    assert ">0000001<" in plot and ">0123456+<" in plot and ">1<" in plot
