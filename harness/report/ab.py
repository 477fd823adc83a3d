"""The A vs B section of the report: a view of each ``RunResult.ab`` record for
``templates/ab.html.j2`` — both distributions (CDFs), the per-pair differences over time with
the estimate and its interval, and the clocks with the A/B blocks shaded."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from markupsafe import Markup

from harness.ab.verdict import pair_values
from harness.report import svg

W, H, PAD = svg.W, svg.H, svg.PAD
SIDE_COLORS = {"A": svg.COLORS[0], "B": svg.COLORS[1]}


def _scale(v: float, lo: float, hi: float, a: float, b: float) -> float:
    return a + (v - lo) / (hi - lo or 1.0) * (b - a)


def _axes(y_lo: float, y_hi: float, x_hi: float, y_label: str, x_label: str) -> list[str]:
    out = [f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#888"/>',
           f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{H - PAD}" stroke="#888"/>']
    for v in np.linspace(y_lo, y_hi, 4):
        y = _scale(v, y_lo, y_hi, H - PAD, 8)
        out.append(f'<text x="{PAD - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end">'
                   f'{v:.3g}</text>')
    for v in np.linspace(0, x_hi, 5):
        x = _scale(v, 0, x_hi, PAD, W - 8)
        out.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" font-size="10" '
                   f'text-anchor="middle">{v:.3g}</text>')
    out.append(f'<text x="{(W + PAD) / 2}" y="{H - 4}" font-size="10" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text x="10" y="{H / 2}" font-size="10" transform="rotate(-90 10 {H / 2})" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    return out


def pair_differences(record: dict[str, Any]) -> str:
    """Per-pair B/A − 1 of the block medians (%) against the pair's time, with the estimate
    (line) and its interval (band): drift, steps and outliers show at a glance."""
    a, b = pair_values(record, "median_ms")
    if len(a) == 0:
        return ""
    times = {}
    for blk in record["blocks"]:
        times[blk["pair"]] = max(times.get(blk["pair"], 0.0), blk["t_end_s"])
    t = np.array([times[i] for i in sorted(times)][:len(a)])
    d = (b / a - 1) * 100
    m = (record.get("verdict") or {}).get("metrics", {}).get("median", {})
    est = m.get("change", float(np.mean(d) / 100)) * 100
    ci = [c * 100 for c in m.get("ci", [est / 100, est / 100])]
    lo = min(float(d.min()), ci[0], 0.0)
    hi = max(float(d.max()), ci[1], 0.0)
    pad = (hi - lo) * 0.1 or 0.1
    lo, hi = lo - pad, hi + pad
    x_hi = float(t.max()) or 1.0
    parts = _axes(lo, hi, x_hi, "B/A − 1 (%)", "time (s)")
    y = lambda v: _scale(v, lo, hi, H - PAD, 8)  # noqa: E731
    parts.append(f'<rect x="{PAD}" y="{y(ci[1]):.1f}" width="{W - 8 - PAD}" '
                 f'height="{max(y(ci[0]) - y(ci[1]), 1):.1f}" fill="#d62728" opacity="0.15"/>')
    parts.append(f'<line x1="{PAD}" y1="{y(0):.1f}" x2="{W - 8}" y2="{y(0):.1f}" '
                 'stroke="#999" stroke-dasharray="3 3"/>')
    parts.append(f'<line x1="{PAD}" y1="{y(est):.1f}" x2="{W - 8}" y2="{y(est):.1f}" '
                 'stroke="#d62728"/>')
    for ti, di in zip(t, d, strict=True):
        parts.append(f'<circle cx="{_scale(ti, 0, x_hi, PAD, W - 8):.1f}" cy="{y(di):.1f}" '
                     f'r="2.5" fill="#333"><title>{di:+.3f} %</title></circle>')
    return svg._svg(parts, "per-pair difference over time")


def clocks(record: dict[str, Any]) -> str:
    """SM clock over the interleaved phase with the blocks shaded (A blue, B red), or the
    block medians over time when there is no telemetry (CPU)."""
    tele = record.get("telemetry") or {}
    samples = tele.get("samples") or {}
    blocks = record.get("blocks") or []
    if not blocks:
        return ""
    x_hi = max(b["t_end_s"] for b in blocks) or 1.0
    if samples.get("sm_clock_mhz") and samples.get("t_s"):
        ts, ys, label = np.asarray(samples["t_s"]), np.asarray(samples["sm_clock_mhz"]), \
            "SM clock (MHz)"
    else:
        ts = np.array([(b["t_s"] + b["t_end_s"]) / 2 for b in blocks])
        ys = np.array([b["median_ms"] for b in blocks])
        label = "block median (ms)"
    lo, hi = float(ys.min()), float(ys.max())
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.01, 1e-9)
    lo, hi = lo - pad, hi + pad
    parts = _axes(lo, hi, x_hi, label, "time (s)")
    for b in blocks:
        x0 = _scale(b["t_s"], 0, x_hi, PAD, W - 8)
        x1 = _scale(b["t_end_s"], 0, x_hi, PAD, W - 8)
        parts.append(f'<rect x="{x0:.1f}" y="8" width="{max(x1 - x0, 0.5):.1f}" '
                     f'height="{H - PAD - 8}" fill="{SIDE_COLORS[b["side"]]}" opacity="0.12"/>')
    pts = " ".join(f"{_scale(t, 0, x_hi, PAD, W - 8):.1f},{_scale(v, lo, hi, H - PAD, 8):.1f}"
                   for t, v in zip(ts, ys, strict=True))
    parts.append(f'<polyline fill="none" stroke="#333" stroke-width="1.2" points="{pts}"/>')
    return svg._svg(parts, label + " over time")


def ab_views(run: Any) -> list[dict[str, Any]]:
    views = []
    for r in getattr(run, "ab", None) or []:
        side = {}
        for label in ("A", "B"):
            xs = [x for b in r.get("blocks", []) if b["side"] == label for x in b["samples_ms"]]
            side[label] = xs
        cdf = svg.cdf([("A", side["A"]), ("B", side["B"])]) if side["A"] else ""
        views.append({"r": r, "verdict": r.get("verdict") or {"status": r.get("status"),
                                                               "reason": r.get("error") or ""},
                      "cdf": Markup(cdf), "pairs": Markup(pair_differences(r)),
                      "clocks": Markup(clocks(r))})
    return views
