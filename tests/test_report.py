"""The report's renderers on a synthetic run that fills every field of the data contract
(tests/fixtures/synthetic.py, a test double for the GPU parts built in parallel)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from fixtures.synthetic import HOSTILE_ERROR, HOSTILE_ID, synthetic_run

from harness import api
from harness.cli import main
from harness.report import svg
from harness.report.compare import compare_runs
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.layers import layer_diff
from harness.report.markdown import md_escape, render_markdown
from harness.report.outputs import write_reports
from harness.report.view import change_interval, throttled_spans


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_run()


@pytest.fixture(scope="module")
def html(synthetic):
    run, history = synthetic
    return render_html(run, history)


def test_every_section_is_rendered(html):
    for needle in ("Needs attention", "GPU throttled while measuring", 'id="cases"',
                   "Throughput against batch size", "Precision ladder", "Backends compared",
                   "Stage breakdown", "GPU telemetry", 'class="throttled"', "Accuracy",
                   "Memory and build", "History of the median", "slowest layers",
                   "Layers against the baseline's engine", "latency CDF", "against the baseline",
                   "tensorrt 10.8.0.43", "onnxruntime 1.20.1", "461.0 s",
                   "SW thermal slowdown", "det. recall"):
        assert needle in html, needle
    # the regression is listed first under "Needs attention", with its interval
    attention = html[html.index("Needs attention"):html.index('id="cases"')]
    assert attention.index("detectors/yunet/tensorrt/fp16/b4") < attention.index("failed")
    assert re.search(r"interval \+1\d\.\d+% … \+1\d\.\d+%", attention)


def test_user_strings_are_escaped(html):
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#34;id&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # the only scripts are the report's own (one block), no external resource at all
    assert html.count("<script>") == 1
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_plot_labels_are_escaped():
    out = svg.bars([("<b>x</b>", 1.0, "<i>note</i>")], "ms")
    assert "<b>" not in out and "&lt;b&gt;x" in out and "&lt;i&gt;note" in out
    out = svg.lines([("<s>", [1, 2], [3, 4])], "<x>", "<y>")
    assert "<s>" not in out and "&lt;x&gt;" in out


def test_throttled_spans_cover_flagged_runs():
    t = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert throttled_spans(t, [False, True, True, False, False, True]) == [
        (0.1, 0.3), (0.5, pytest.approx(0.6))]
    assert throttled_spans(t, [False] * 6) == []


def test_change_interval_prefers_the_verdicts_own():
    assert change_interval({"ci": [0.01, 0.03]}) == (0.01, 0.03)
    lo, hi = change_interval({"baseline_ms": 2.0, "current_ci_ms": [2.2, 2.4]})
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.2)
    assert change_interval({"status": "new"}) is None


def test_layer_diff_names_changed_tactics():
    before = [{"name": "conv1", "precision": "fp16", "tactic": "0x1", "time_ms": 1.0},
              {"name": "gone", "precision": "fp16", "tactic": "0x2", "time_ms": 0.1},
              {"name": "same", "precision": "fp16", "tactic": "0x3", "time_ms": 0.5}]
    after = [{"name": "conv1", "precision": "fp16", "tactic": "0x9", "time_ms": 1.8},
             {"name": "same", "precision": "fp16", "tactic": "0x3", "time_ms": 0.5},
             {"name": "new", "precision": "int8", "tactic": "0x4", "time_ms": 0.2}]
    d = layer_diff(before, after)
    changes = {r["name"]: r["change"] for r in d["rows"]}
    assert changes == {"conv1": "tactic", "gone": "removed", "new": "added"}
    assert d["unchanged"] == 1 and d["rows"][0]["delta_ms"] == pytest.approx(0.8)
    assert layer_diff(None, after) is None


def test_markdown_summary_regressions_first_and_escaped(synthetic):
    run, _ = synthetic
    md = render_markdown(run, "index.html")
    assert md.startswith("## ❌ trt-harness: 1 regression, 1 failed")
    assert md.index("detectors/yunet/tensorrt/fp16/b4") < md.index("<details>")
    assert "<script>" not in md and "<img" not in md and "\x01" not in md
    assert "[full report](index.html)" in md
    assert md_escape("a|b\nc") == "a\\|b c"


def test_junit_one_testcase_per_case(synthetic):
    run, _ = synthetic
    root = ET.fromstring(render_junit(run).encode())
    cases = root.findall(".//testcase")
    assert len(cases) == len(run.cases)
    assert root.get("tests") == str(len(run.cases))
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "1", "1")
    by_name = {c.get("name"): c for c in cases}
    assert by_name["detectors/yunet/tensorrt/fp16/b4"].find("failure") is not None
    hostile = by_name[HOSTILE_ID]
    assert hostile.find("error").get("message") == HOSTILE_ERROR.replace("\x01", "")
    assert by_name["detectors/yunet/tensorrt-rtx/fp16/b1"].find("skipped") is not None


def test_write_reports_appends_the_job_summary(synthetic, tmp_path, monkeypatch):
    run, history = synthetic
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    paths = write_reports(run, tmp_path / "out", history)
    assert paths.html.exists() and paths.junit.exists()
    text = step.read_text()
    assert text.startswith("earlier step\n") and paths.markdown.read_text() in text


def test_compare_two_result_files(synthetic, tmp_path):
    run, _ = synthetic
    a = tmp_path / "a.json"
    a.write_text(json.dumps(run.to_json()))
    b_run = api.load_results(a)
    slow = b_run.case("detectors/yolo/tensorrt/fp32/b1")
    slow.stats_ms = {k: (v * 1.3 if isinstance(v, float) and k not in ("cv", "rel_ci") else v)
                     for k, v in slow.stats_ms.items()}
    slow.samples_ms = [s * 1.3 for s in slow.samples_ms]
    slow.backend = {"name": "tensorrt", "version": "10.9.0.34"}
    b = tmp_path / "b.json"
    b.write_text(json.dumps(b_run.to_json()))

    judged, _ = compare_runs([api.load_results(a)], api.load_results(b))
    v = judged.case("detectors/yolo/tensorrt/fp32/b1").verdict
    assert v["status"] == "regression" and "10.8.0.43 -> tensorrt 10.9.0.34" in v["reason"]
    assert judged.case("detectors/yolo/tensorrt/fp16/b1").verdict["status"] == "pass"
    assert judged.case(HOSTILE_ID).verdict["status"] == "failed"

    out = tmp_path / "cmp" / "ab.html"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    page = out.read_text()
    assert "b.json vs a.json" in page and "10.9.0.34" in page
    assert (out.parent / "junit.xml").exists() and (out.parent / "summary.md").exists()


def test_report_of_one_file_keeps_its_verdicts(synthetic, tmp_path):
    run, _ = synthetic
    a = tmp_path / "a.json"
    a.write_text(json.dumps(run.to_json()))
    assert main(["report", str(a), "--out", str(tmp_path / "r"),
                 "--baselines", str(tmp_path / "none")]) == 0
    page = (tmp_path / "r" / "index.html").read_text()
    assert "1 regression" in page and "25 pass" in page


def test_ab_section_hook(synthetic):
    run, history = synthetic
    run.ab = [{"a": "detectors/yolo/tensorrt/fp16/b1", "b": "<b>odd</b>", "ratio": 0.97}]
    try:
        page = render_html(run, history)
    finally:
        run.ab = []
    # ab.html.j2 (the statistics part) renders it when present; a plain table otherwise
    assert "A/B comparisons" in page and "&lt;b&gt;odd&lt;/b&gt;" in page and "0.97" in page


def test_an_undecided_stored_verdict_needs_attention(synthetic):
    """A stored pass that could not have seen 3x is "undecided" (exit 3): the report lists
    it under "Needs attention" with its own badge, never among the passes."""
    from dataclasses import replace

    from harness.baseline.verdict import verdict

    run, history = synthetic
    case = next(c for c in run.cases if c.verdict is not None and c.verdict.status == "pass")
    blind = verdict("undecided", "undecided: could not see a 3x slowdown: the smallest it "
                    "finds 80% of the time is +341%", metric="median", change=0.02,
                    detects=3.41, more_runs=None)
    run = replace(run, cases=[replace(c, verdict=blind) if c is case else c
                              for c in run.cases])
    page = render_html(run, history)
    attention = page[page.index("Needs attention"):page.index('id="cases"')]
    assert case.id in attention and "could not see a 3x slowdown" in attention
    assert 'class="badge undecided"' in page
