"""Results as a pandas DataFrame (`harness.api.results_frame`) and `trt-harness export --csv`."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from fixtures.synthetic import synthetic_run

from harness import api, cli
from harness.results import load_results

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def results_file(tmp_path):
    run, _ = synthetic_run(["yunet"], limit=4)
    run.commit = {"sha": SHA, "branch": "main", "dirty": False, "time": None,
                  "author_time": None, "project": "p"}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(run.to_json()))
    return path


def test_one_row_per_case_with_the_named_columns(results_file):
    run = load_results(results_file)
    frame = api.results_frame(results_file)
    assert list(frame.columns) == list(api.FRAME_COLUMNS)
    assert list(frame["id"]) == [c.id for c in run.cases]
    ok = run.cases[0]
    row = frame.iloc[0]
    assert row["scenario"] == ok.case["scenario"] and row["model"] == ok.case["model"]
    assert row["backend"] == ok.backend["name"] and row["precision"] == ok.precision
    assert row["batch"] == ok.case["batch"] and row["status"] == "ok"
    assert row["median_ms"] == ok.stats_ms["median"] and row["p99_ms"] == ok.stats_ms["p99"]
    assert (row["median_ci_low_ms"], row["median_ci_high_ms"]) == (
        ok.stats_ms["median_ci_low"], ok.stats_ms["median_ci_high"])
    assert row["throughput"] == pytest.approx(ok.throughput)
    assert row["verdict"] == ok.verdict["status"] and row["change"] == ok.verdict["change"]
    assert set(frame["platform_id"]) == {run.platform_id} and set(frame["commit"]) == {SHA}
    # a failed case: a row with its status, its figures missing
    failed = frame[frame["status"] == "failed"].iloc[0]
    assert math.isnan(failed["median_ms"]) and math.isnan(failed["throughput"])
    assert frame["median_ms"].dtype == float and str(frame["batch"].dtype) == "Int64"
    # the same from a RunResult
    pd.testing.assert_frame_equal(api.results_frame(run), frame)


def test_older_results_without_commit(results_file):
    data = json.loads(results_file.read_text())
    del data["commit"]
    results_file.write_text(json.dumps(data))
    assert api.results_frame(results_file)["commit"].isna().all()


def test_export_csv(results_file, tmp_path, capsys):
    out = tmp_path / "cases.csv"
    assert cli.main(["export", str(results_file), "--csv", str(out)]) == 0
    back = pd.read_csv(out)
    frame = api.results_frame(results_file)
    assert list(back.columns) == list(api.FRAME_COLUMNS) and len(back) == len(frame)
    assert back["median_ms"].tolist() == pytest.approx(frame["median_ms"].tolist(), nan_ok=True)
    both = tmp_path / "pb.json"
    assert cli.main(["export", str(results_file), "-o", str(both), "--csv", str(out)]) == 0
    assert json.loads(both.read_text())["commit_info"]["id"] == SHA
    assert cli.main(["export", str(results_file)]) == 2          # no output named
    assert "-o FILE.json and/or --csv" in capsys.readouterr().err
