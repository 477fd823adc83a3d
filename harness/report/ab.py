"""The A vs B section of the report: a view of each ``RunResult.ab`` record for
``templates/ab.html.j2`` — both distributions (CDFs), the per-pair differences over time with
the estimate and its interval, and the clocks with the A/B blocks shaded."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from harness.ab.rounds import completed_rounds
from harness.ab.verdict import pair_values, process_layouts
from harness.report import svg
from harness.report.view import ab_verdict_of
from harness.verdict.records import MetricVerdict

SIDE_COLORS = {"A": svg.COLORS[0], "B": svg.COLORS[1]}


def _difference_axes(record: dict[str, Any], points: np.ndarray, x_range: tuple[float, float],
                     x_label: str) -> tuple[svg.Axes, list[str]]:
    """Axes for B/A − 1 (%) that hold ``points`` and the verdict's estimate (line) and
    interval (band), with the zero line; the parts drawn so far."""
    m = ab_verdict_of(record).metrics.get("median") or MetricVerdict()
    est = (m.get("change") if m.get("change") is not None
           else float(np.mean(points)) / 100) * 100
    lo_ci, hi_ci = (c * 100 for c in (m.get("ci") or [est / 100, est / 100]))
    lo = min(float(points.min()), lo_ci, 0.0)
    hi = max(float(points.max()), hi_ci, 0.0)
    pad = (hi - lo) * 0.1 or 0.1
    ax = svg.Axes(*x_range, lo - pad, hi + pad)
    right = ax.w - ax.right
    return ax, [ax.frame(x_label, "B/A − 1 (%)"),
                f'<rect x="{ax.left}" y="{ax.y(hi_ci):.1f}" width="{right - ax.left}" '
                f'height="{max(ax.y(lo_ci) - ax.y(hi_ci), 1):.1f}" fill="{svg.SHADE}" '
                'opacity="0.6"/>',
                svg.polyline([(ax.left, ax.y(0)), (right, ax.y(0))], "#999", 1, "3 3"),
                svg.polyline([(ax.left, ax.y(est)), (right, ax.y(est))], SIDE_COLORS["B"])]


def pair_differences(record: dict[str, Any]) -> str:
    """Per-pair B/A − 1 of the block medians (%) against the pair's time, with the estimate
    (line) and its interval (band): drift, steps and outliers show at a glance."""
    a, b = pair_values(record, "median_ms")
    if len(a) == 0:
        return ""
    ends: dict[int, float] = {}
    for blk in record["blocks"]:
        ends[blk["pair"]] = max(ends.get(blk["pair"], 0.0), blk["t_end_s"])
    t = np.array([ends[i] for i in sorted(ends)][:len(a)])
    d = (b / a - 1) * 100
    ax, parts = _difference_axes(record, d, (0.0, float(t.max()) or 1.0), "time (s)")
    parts.extend(f'<circle cx="{ax.x(ti):.1f}" cy="{ax.y(di):.1f}" r="2.5" fill="#333">'
                 f'<title>{di:+.3f} %</title></circle>' for ti, di in zip(t, d, strict=True))
    return svg.svg(parts, "per-pair difference over time")


def layout_differences(record: dict[str, Any]) -> str:
    """A process-paired record (harness.ab.processes): per layout, B's runs' mean over A's
    (%), each of B's runs against A's mean as a faint dot, with the estimate and its
    interval: a layout whose pairs broke (B placed differently) stands out."""
    a, b = process_layouts(record, "median_ms")
    if len(a) == 0 or len(b) == 0:
        return ""
    d = (np.exp(b.mean(axis=0) - a.mean(axis=0)) - 1) * 100
    runs = (np.exp(b - a.mean(axis=0)) - 1) * 100
    ax, parts = _difference_axes(record, runs, (-0.5, len(d) - 0.5), "layout (seed order)")
    parts.extend(f'<circle cx="{ax.x(i):.1f}" cy="{ax.y(v):.1f}" r="2" fill="#999"/>'
                 for row in runs for i, v in enumerate(row))
    parts.extend(f'<circle cx="{ax.x(i):.1f}" cy="{ax.y(v):.1f}" r="3.5" fill="#333">'
                 f'<title>layout {i}: {v:+.3f} %</title></circle>' for i, v in enumerate(d))
    return svg.svg(parts, "per-layout difference")


def clocks(record: dict[str, Any]) -> str:
    """SM clock over the interleaved phase with the blocks shaded (A blue, B red), or the
    block medians over time when there is no telemetry (CPU)."""
    samples = (record.get("telemetry") or {}).get("samples") or {}
    blocks = record.get("blocks") or []
    if not blocks:
        return ""
    if samples.get("sm_clock_mhz") and samples.get("t_s"):
        ts, ys = np.asarray(samples["t_s"], float), np.asarray(samples["sm_clock_mhz"], float)
        label = "SM clock (MHz)"
    else:
        ts = np.array([(b["t_s"] + b["t_end_s"]) / 2 for b in blocks])
        ys = np.array([b["median_ms"] for b in blocks])
        label = "block median (ms)"
    lo, hi = float(ys.min()), float(ys.max())
    pad = (hi - lo) * 0.1 or abs(hi) * 0.01 or 1e-9
    ax = svg.Axes(0.0, max(b["t_end_s"] for b in blocks) or 1.0, lo - pad, hi + pad)
    parts = [f'<rect x="{ax.x(b["t_s"]):.1f}" y="{ax.top}" '
             f'width="{max(ax.x(b["t_end_s"]) - ax.x(b["t_s"]), 0.5):.1f}" '
             f'height="{ax.h - ax.top - ax.bottom}" fill="{SIDE_COLORS[b["side"]]}" '
             'opacity="0.12"/>' for b in blocks]
    parts.append(ax.frame("time (s)", label))
    parts.append(svg.polyline([(ax.x(t), ax.y(v)) for t, v in zip(ts, ys, strict=True)],
                              "#333", 1.2))
    parts.append(svg.legend(["A", "B"], ax.left + 6, colors=(SIDE_COLORS["A"],
                                                             SIDE_COLORS["B"])))
    return svg.svg(parts, label + " over time")


def ab_views(run: Any) -> list[dict[str, Any]]:
    views = []
    for r in getattr(run, "ab", None) or []:
        if "blocks" not in r:            # not an A/B record of harness.ab: shown as it is
            views.append({"r": r, "generic": True})
            continue
        side = {}
        for label in ("A", "B"):
            # a process-paired record (harness.ab.processes) keeps its samples by process
            parts = [*r.get("blocks", []), *completed_rounds(r)]
            side[label] = [x for b in parts if b["side"] == label for x in b["samples_ms"]]
        cdf = svg.cdf([("A", side["A"]), ("B", side["B"])]) if side["A"] else ""
        views.append({"r": r, "verdict": ab_verdict_of(r),
                      "cdf": Markup(cdf), "pairs": Markup(pair_differences(r)),
                      "layouts": Markup(layout_differences(r)),
                      "clocks": Markup(clocks(r)), "generic": False})
    return views
