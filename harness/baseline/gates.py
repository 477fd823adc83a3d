"""The gated metrics other than timing: each one reads a figure from a result (or a
baseline entry), has a direction and a default tolerance, and is judged without statistics —
sizes and memory are deterministic, accuracy is a delta against the reference output, and
build time gets a relative tolerance with an absolute floor (one build per run gives no
spread to estimate).

"Deterministic" holds only for figures that belong to the case: each backend reports its own
need (for torch, the allocator's peak above the level before the case, earlier cases' caches
released: issue 22), and tests/test_memory_order.py checks that a scenario's case order moves
no gated size or memory figure.

Tolerance keys are those of the scenario's ``tolerance`` table (``harness.scenario.schema``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Any

from harness.metrics import METRICS
from harness.verdict.records import MetricVerdict

# Builds of small models take a fraction of a second and vary by tens of percent; a change
# below this many seconds is never called a build-time regression.
BUILD_TIME_FLOOR_S = 0.5


def _first(d: dict[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if d and d.get(k) is not None:
            return d[k]
    return None


def engine_bytes(r: dict[str, Any]) -> float | None:
    return _first(r.get("build"), "engine_bytes") or _first(r.get("memory"), "engine_bytes")


def model_bytes(r: dict[str, Any]) -> float | None:
    return _first(r.get("memory"), "model_bytes")


def device_bytes(r: dict[str, Any]) -> float | None:
    """The case's own device memory. Process-wide figures (``torch_peak_bytes`` of older
    runs, ``process_*``) depend on what ran before the case and are never gated."""
    return _first(r.get("memory"), "device_bytes", "context_bytes")


def build_time(r: dict[str, Any]) -> float | None:
    b = r.get("build") or {}
    return None if b.get("cache_hit") else b.get("build_time_s")


def accuracy_error(r: dict[str, Any]) -> float | None:
    """The worst output's relative L2 error against the reference (lower is better)."""
    return _first(r.get("accuracy"), "rel_l2")


def detection_recall(r: dict[str, Any]) -> float | None:
    return _first((r.get("accuracy") or {}).get("detections"), "recall")


@dataclass(frozen=True)
class Gate:
    metric: str
    read: Callable[[dict[str, Any]], float | None]
    tolerance_key: str
    higher_is_better: bool = False
    absolute: bool = False          # tolerance is an absolute delta, not a fraction
    unit: str = ""
    floor: float = 0.0              # absolute change below this never counts
    all_runs: bool = False          # reference = median over baseline runs, not the latest


def _gate(metric: str, read: Callable[[dict[str, Any]], float | None], tolerance_key: str,
          **kw: Any) -> Gate:
    # unit and direction are the metric's, from the one table (harness.metrics)
    m = METRICS[metric]
    return Gate(metric, read, tolerance_key, higher_is_better=m.higher_is_better, unit=m.unit,
                **kw)


GATES = (
    _gate("accuracy", accuracy_error, "accuracy", absolute=True),
    _gate("detection_recall", detection_recall, "accuracy", absolute=True),
    _gate("engine_bytes", engine_bytes, "size"),
    _gate("model_bytes", model_bytes, "size"),
    _gate("device_bytes", device_bytes, "memory"),
    _gate("build_time_s", build_time, "build_time", floor=BUILD_TIME_FLOOR_S, all_runs=True),
)


def judge_gate(gate: Gate, current: dict[str, Any], entries: list[dict[str, Any]],
               tolerance: float) -> MetricVerdict | None:
    """A metric verdict, or None when the figure is missing on either side."""
    cur = gate.read(current)
    refs = [v for v in (gate.read(e) for e in entries) if v is not None]
    if cur is None or not refs:
        return None
    ref = median(refs) if gate.all_runs else refs[-1]
    delta = cur - ref
    change = delta if gate.absolute else (cur / ref - 1 if ref else (0.0 if not cur else 1.0))
    worse = -change if gate.higher_is_better else change
    status = "pass"
    if abs(delta) >= gate.floor:
        if worse > tolerance:
            status = "regression"
        elif worse < -tolerance:
            status = "improvement"
    shown = (f"{change:+.4g}, tolerance {tolerance:g}" if gate.absolute
             else f"{change:+.1%}, tolerance {tolerance:.1%}")
    return MetricVerdict.build(
        status=status, change=change, current=cur, baseline=ref, tolerance=tolerance,
        absolute=gate.absolute,
        direction="higher is better" if gate.higher_is_better else "lower is better",
        reason=f"{cur:.4g} vs {ref:.4g} {gate.unit} ({shown})")
