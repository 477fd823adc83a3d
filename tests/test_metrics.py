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
