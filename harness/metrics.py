"""The table of metrics: what each figure of a result is called, its unit, which way is
better, and how it is written. Printers and gates read it here instead of keeping their own
formats, as nvbench's tagged summaries let every output format print a statistic the same way.

``direction`` is ``"lower"`` (latency, sizes, errors), ``"higher"`` (throughput, recall) or
``""`` (counts and spreads, which are facts, not goals). ``format`` is a format spec for the
figure in its unit; a missing or undefined figure is written ``–``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MISSING = "–"


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    direction: str          # "lower" | "higher" | ""
    format: str

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"

    @property
    def heading(self) -> str:
        """A table column's heading: the label, then the unit (``median ms``)."""
        return f"{self.label} {self.unit}" if self.unit else self.label

    @property
    def key(self) -> str:
        """The figure's name in flat records (JUnit properties, the DataFrame, the summary
        rows): a time's name ends in ``_ms``."""
        return f"{self.name}_ms" if self.unit == "ms" else self.name

    def text(self, value: Any) -> str:
        """The figure as printers show it (no unit): ``1.234``, ``+2.50%``, ``–``."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return MISSING
        if self.format.endswith("d") and isinstance(value, float):
            # counts and sizes read back from JSON (a merge's sums) may be floats
            return format(int(value), self.format) if value.is_integer() else f"{value:.4g}"
        return format(value, self.format)

    def interval(self, low: Any, high: Any, between: str = "–") -> str:
        """``low–high`` in the figure's format; ``–`` when either end is missing."""
        if MISSING in (self.text(low), self.text(high)):
            return MISSING
        return f"{self.text(low)}{between}{self.text(high)}"


_MS = ".4g"
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("n", "samples", "", "", "d"),
    Metric("min", "min", "ms", "lower", _MS),
    Metric("median", "median", "ms", "lower", _MS),
    Metric("median_ci_low", "median CI low", "ms", "lower", _MS),
    Metric("median_ci_high", "median CI high", "ms", "lower", _MS),
    Metric("mean", "mean", "ms", "lower", _MS),
    Metric("p90", "p90", "ms", "lower", _MS),
    Metric("p95", "p95", "ms", "lower", _MS),
    Metric("p99", "p99", "ms", "lower", _MS),
    Metric("max", "max", "ms", "lower", _MS),
    Metric("stdev", "stdev", "ms", "", _MS),
    Metric("cv", "CV", "", "", ".2%"),
    Metric("rel_ci", "relative CI half-width", "", "", ".2%"),
    Metric("throughput", "throughput", "items/s", "higher", ",.1f"),
    Metric("change", "change", "", "lower", "+.2%"),
    Metric("accuracy", "accuracy error", "rel. L2", "lower", ".3g"),
    Metric("detection_recall", "detection recall", "", "higher", ".3g"),
    Metric("engine_bytes", "engine size", "B", "lower", ",d"),
    Metric("model_bytes", "model size", "B", "lower", ",d"),
    Metric("device_bytes", "device memory", "B", "lower", ",d"),
    Metric("build_time_s", "build time", "s", "lower", ".3g"),
)}


# The figures of a case that the console table, the JUnit properties and the DataFrame show.
CASE_FIGURES = ("median", "median_ci_low", "median_ci_high", "p99", "throughput")


def text(name: str, value: Any) -> str:
    """``METRICS[name].text(value)``."""
    return METRICS[name].text(value)
