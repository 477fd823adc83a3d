"""The one table of metrics: units, directions and formats that printers and gates read."""

from __future__ import annotations

import math

from harness.api import FRAME_COLUMNS
from harness.baseline.gates import GATES
from harness.metrics import METRICS, MISSING, text


def test_formats():
    assert text("median", 1.23456) == "1.235" and text("median", None) == MISSING
    assert text("change", 0.025) == "+2.50%" and text("change", math.nan) == MISSING
    assert text("throughput", 12345.67) == "12,345.7" and text("engine_bytes", 2048) == "2,048"


def test_gates_take_unit_and_direction_from_the_table():
    got = {g.metric: (g.unit, g.higher_is_better) for g in GATES}
    assert got == {"accuracy": ("rel. L2", False), "detection_recall": ("", True),
                   "engine_bytes": ("B", False), "model_bytes": ("B", False),
                   "device_bytes": ("B", False), "build_time_s": ("s", False)}
    assert all(METRICS[g].direction in ("lower", "higher") for g in got)


def test_frame_columns_follow_the_units():
    assert FRAME_COLUMNS[7:12] == ("median_ms", "median_ci_low_ms", "median_ci_high_ms",
                                   "p99_ms", "throughput")


def test_headings_keys_and_intervals():
    assert METRICS["median"].heading == "median ms" and METRICS["change"].heading == "change"
    assert METRICS["p99"].key == "p99_ms" and METRICS["throughput"].key == "throughput"
    assert METRICS["change"].interval(-0.01, 0.025, " … ") == "-1.00% … +2.50%"
    assert METRICS["median"].interval(1.0, None) == MISSING
    assert text("n", 618.0) == "618" and text("engine_bytes", 2048.0) == "2,048"


def test_printers_write_figures_as_the_table_does(capsys):
    import xml.etree.ElementTree as ET

    from harness.cli import _table
    from harness.report.junit import render_junit
    from harness.report.markdown import render_markdown
    from harness.results import CaseResult, RunResult

    case = CaseResult(id="s/m/b1", status="ok", case={"scenario": "s", "model": "m"},
                      stats_ms={"median": 1.23456, "median_ci_low": 1.2, "median_ci_high": 1.3,
                                "p99": 2.0, "n": 40}, throughput=12345.67,
                      verdict={"status": "regression", "change": 0.025, "ci": [0.01, 0.04],
                               "reason": "slower"})
    run = RunResult(run_id="r", started="2026-01-01T00:00:00", platform={}, platform_id="p",
                    cases=[case])
    md = render_markdown(run)
    assert "| s/m/b1 | 1.235 | +2.50% | +1.00% … +4.00% | **regression** |" in md
    props = {p.get("name"): p.get("value")
             for p in ET.fromstring(render_junit(run)).iter("property")}
    assert props["median_ms"] == "1.23456" and props["change"] == "0.025"
    from harness.api import summary_rows

    _table(summary_rows(run), "t")
    out = capsys.readouterr().out
    assert "1.235" in out and "1.2–1.3" in out and "12,345.7" in out and "40" in out
