"""Inline SVG plots, drawn here so the report needs no plotting library and no network.

Every plot is a plain function from numbers (and labels) to an ``<svg>`` string. Labels are
escaped here, so a plot is safe to mark up as-is in the autoescaped template. Long series are
thinned to a few hundred points: the report stays small and renders fast at 50+ cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

W, H = 420, 180
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
          "#17becf")
MAX_POINTS = 300
SHADE = "#f9c0c0"


def fmt(v: float) -> str:
    if abs(v) >= 1e7:
        return f"{v:.3e}"
    return f"{v:,.0f}" if abs(v) >= 1e3 else f"{v:.3g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


@dataclass
class Axes:
    """Linear data -> pixel mapping of one plot area; ``log_x`` for batch-size axes."""

    x0: float
    x1: float
    y0: float
    y1: float
    w: int = W
    h: int = H
    left: int = 48
    right: int = 10
    top: int = 10
    bottom: int = 30
    log_x: bool = False

    def __post_init__(self) -> None:
        if self.x1 <= self.x0:
            self.x1 = self.x0 + (abs(self.x0) or 1.0) * 1e-6
        if self.y1 <= self.y0:
            self.y1 = self.y0 + (abs(self.y0) or 1.0) * 1e-6

    def _t(self, v: float) -> float:
        return math.log2(v) if self.log_x else v

    def x(self, v: float) -> float:
        span = self._t(self.x1) - self._t(self.x0)
        return self.left + (self._t(v) - self._t(self.x0)) / span * (self.w - self.left
                                                                     - self.right)

    def y(self, v: float) -> float:
        return (self.h - self.bottom) - (v - self.y0) / (self.y1 - self.y0) * (
            self.h - self.bottom - self.top)

    def frame(self, x_label: str, y_label: str, x_ticks: Sequence[float] | None = None,
              y_ticks: Sequence[float] | None = None,
              x_tick_labels: Sequence[str] | None = None) -> str:
        b, r = self.h - self.bottom, self.w - self.right
        out = [f'<line x1="{self.left}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/>',
               f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{b}" '
               'stroke="#888"/>']
        ticks = x_ticks if x_ticks is not None else nice_ticks(self.x0, self.x1)
        labels = list(x_tick_labels) if x_tick_labels is not None else [fmt(t) for t in ticks]
        for t, label in zip(ticks, labels, strict=False):
            if self.x0 <= t <= self.x1:
                out.append(f'<text x="{self.x(t):.1f}" y="{b + 12}" class="tk" '
                           f'text-anchor="middle">{escape(label)}</text>')
        for t in y_ticks if y_ticks is not None else nice_ticks(self.y0, self.y1, 4):
            if self.y0 <= t <= self.y1:
                y = self.y(t)
                out.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}" '
                           'stroke="#eee"/>')
                out.append(f'<text x="{self.left - 3}" y="{y + 3:.1f}" class="tk" '
                           f'text-anchor="end">{fmt(t)}</text>')
        out.append(f'<text x="{(self.left + r) / 2:.0f}" y="{self.h - 3}" class="ax" '
                   f'text-anchor="middle">{escape(x_label)}</text>')
        out.append(f'<text x="10" y="{(self.top + b) / 2:.0f}" class="ax" text-anchor="middle" '
                   f'transform="rotate(-90 10 {(self.top + b) / 2:.0f})">{escape(y_label)}</text>')
        return "".join(out)


def svg(parts: Sequence[str], title: str, w: int = W, h: int = H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
            f'height="{h}" role="img" class="plot"><title>{escape(title)}</title>'
            f'{"".join(parts)}</svg>')


def polyline(points: Sequence[tuple[float, float]], color: str, width: float = 1.5,
             dash: str = "") -> str:
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline fill="none" stroke="{color}" stroke-width="{width}"{dash_attr} '
            f'points="{pts}"/>')


def legend(labels: Sequence[str], x: float, y: float = 14, colors: Sequence[str] = COLORS) -> str:
    return "".join(f'<text x="{x:.0f}" y="{y + 12 * i}" fill="{colors[i % len(colors)]}" '
                   f'class="lg">{escape(label)}</text>' for i, label in enumerate(labels))


def _thin(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, limit)).astype(int))


def cdf(series: Sequence[tuple[str, Sequence[float]]], unit: str = "ms") -> str:
    """Empirical CDFs of latency samples, one line per (label, samples): this run against the
    baseline's, so a shift of the whole distribution and a fattened tail both show."""
    data = [(label, np.sort(np.asarray(s, dtype=float))) for label, s in series if len(s)]
    if not data:
        return ""
    lo = min(float(s[0]) for _, s in data)
    # Clip the x axis at the largest p99.5 so one outlier does not squash the plot.
    hi = max(float(np.percentile(s, 99.5)) for _, s in data)
    ax = Axes(lo, hi, 0.0, 1.0)
    parts = [ax.frame(f"latency ({unit})", "fraction ≤ x", y_ticks=[0.5, 0.9, 0.99])]
    for i, (_, s) in enumerate(data):
        idx = _thin(len(s))
        pts = [(ax.x(min(float(s[j]), hi)), ax.y((j + 1) / len(s))) for j in idx]
        parts.append(polyline(pts, COLORS[i % len(COLORS)], dash="" if i == 0 else "4 2"))
    # Bottom right stays empty under rising CDFs: the legend goes there.
    labels = [f"{label} (n={len(s)})" for label, s in data]
    x, y = ax.w - ax.right - 4, ax.h - ax.bottom - 8 - 12 * (len(labels) - 1)
    parts.extend(f'<text x="{x}" y="{y + 12 * i}" fill="{COLORS[i % len(COLORS)]}" class="lg" '
                 f'text-anchor="end">{escape(lab)}</text>' for i, lab in enumerate(labels))
    return svg(parts, "latency CDF")


def lines(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], x_label: str,
          y_label: str, *, log_x: bool = False, errors: Sequence[Sequence[tuple[float, float]]]
          | None = None, x_ticks: Sequence[float] | None = None,
          x_tick_labels: Sequence[str] | None = None, title: str = "",
          show_title: bool = False, markers: Sequence[tuple[float, str]] = ()) -> str:
    """Lines with point markers, one per (label, xs, ys); ``errors`` holds a (lo, hi) interval
    per point (medians' CIs) drawn as whiskers; ``x_tick_labels`` names the ``x_ticks``.
    The y-axis starts at zero for positive figures, so a small change looks small;
    ``show_title`` writes the title above the plot (several alike plots side by side);
    ``markers`` are (x, label) vertical dashed lines (e.g. a detected step)."""
    data = [(lab, list(map(float, xs)), list(map(float, ys))) for lab, xs, ys in series if xs]
    if not data:
        return ""
    xs_all = [x for _, xs, _ in data for x in xs]
    ys_all = [y for _, _, ys in data for y in ys]
    if errors:
        ys_all += [v for errs in errors for lohi in errs for v in lohi if v is not None]
    y_lo, y_hi = min(ys_all), max(ys_all)
    pad = (y_hi - min(y_lo, 0.0)) * 0.08 or abs(y_hi) * 0.05 or 1.0
    ax = Axes(min(xs_all), max(xs_all), 0.0 if y_lo >= 0 else y_lo - pad,
              y_hi + pad, log_x=log_x and min(xs_all) > 0, w=W + 120, right=130,
              top=24 if show_title and title else 10)
    if ax.x0 == ax.x1 or len(set(xs_all)) == 1:
        ax.x0, ax.x1 = ax.x0 - 0.5, ax.x1 + 0.5
        ax.log_x = False
    ticks = x_ticks if x_ticks is not None else (sorted(set(xs_all)) if log_x else None)
    parts = [ax.frame(x_label, y_label, x_ticks=ticks,
                      x_tick_labels=x_tick_labels if x_ticks is not None else None)]
    for i, (_, xs, ys) in enumerate(data):
        color = COLORS[i % len(COLORS)]
        pts = [(ax.x(x), ax.y(y)) for x, y in zip(xs, ys, strict=True)]
        parts.append(polyline(pts, color))
        parts.extend(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"/>'
                     for px, py in pts)
        for (px, _), (lo, hi) in zip(pts, (errors or [])[i] if errors else [], strict=False):
            if lo is not None and hi is not None:
                parts.append(f'<line x1="{px:.1f}" y1="{ax.y(lo):.1f}" x2="{px:.1f}" '
                             f'y2="{ax.y(hi):.1f}" stroke="{color}"/>')
    for x, label in markers:
        px = ax.x(x)
        parts.append(f'<line x1="{px:.1f}" y1="{ax.y(ax.y1):.1f}" x2="{px:.1f}" '
                     f'y2="{ax.y(ax.y0):.1f}" stroke="#d62728" stroke-dasharray="4 3"/>'
                     f'<text x="{px + 3:.1f}" y="{ax.y(ax.y1) + 10:.1f}" font-size="10" '
                     f'fill="#d62728">{escape(label)}</text>')
    parts.append(legend([lab for lab, _, _ in data], ax.w - ax.right + 6))
    if show_title and title:
        parts.append(f'<text x="{ax.left}" y="14" class="ttl">{escape(title)}</text>')
    return svg(parts, title or y_label, w=ax.w)


def bars(items: Sequence[tuple[str, float, str]], unit: str, *, title: str = "",
         label_w: int = 150, keep_tail: bool = False) -> str:
    """Horizontal bars: (label, value, note) per row; the note (a speed-up, an accuracy delta,
    a layer's precision) is written right of the bar."""
    rows = [(lab, float(v), note) for lab, v, note in items if v is not None]
    if not rows:
        return ""
    row_h, w = 18, W + 180
    h = row_h * len(rows) + 24
    hi = max(v for _, v, _ in rows) or 1.0
    span = w - label_w - 150
    parts = []
    for i, (lab, v, note) in enumerate(rows):
        y = 4 + i * row_h
        bw = max(1.0, v / hi * span)
        parts.append(f'<text x="{label_w - 4}" y="{y + 12}" class="lg" text-anchor="end">'
                     f'{escape(_clip(lab, label_w // 6, keep_tail))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bw:.1f}" height="{row_h - 5}" '
                     f'fill="{COLORS[0]}" opacity="0.85"/>')
        parts.append(f'<text x="{label_w + bw + 4:.1f}" y="{y + 12}" class="lg">{fmt(v)} '
                     f'{escape(unit)}{"  " + escape(note) if note else ""}</text>')
    return svg(parts, title or unit, w=w, h=h)


def stacked(segments: Sequence[tuple[str, float]], unit: str = "ms", title: str = "") -> str:
    """One bar split into consecutive segments (the stages of an inference), each labelled."""
    segs = [(lab, float(v)) for lab, v in segments if v is not None and v > 0]
    if not segs:
        return ""
    total = sum(v for _, v in segs)
    w, left, right = W + 180, 8, 8
    span = w - left - right
    parts, x = [], float(left)
    for i, (lab, v) in enumerate(segs):
        bw = v / total * span
        color = COLORS[i % len(COLORS)]
        parts.append(f'<rect x="{x:.1f}" y="6" width="{bw:.1f}" height="22" fill="{color}">'
                     f'<title>{escape(lab)}: {fmt(v)} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{left + 4}" y="{46 + 13 * i}" class="lg" fill="{color}">'
                     f'■ {escape(lab)}: {fmt(v)} {escape(unit)} ({v / total:.0%})</text>')
        x += bw
    return svg(parts, title or "stage breakdown", w=w, h=40 + 13 * len(segs))


def timeline(t: Sequence[float], panels: Sequence[tuple[str, Sequence[float | None]]],
             shaded: Sequence[tuple[float, float]], title: str = "GPU telemetry") -> str:
    """Small multiples sharing the time axis (SM clock, power, temperature...), with the spans
    where the GPU was throttled shaded in every panel."""
    ts = [float(v) for v in t]
    panels = [(lab, vals) for lab, vals in panels
              if vals and any(v is not None for v in vals)]
    if len(ts) < 2 or not panels:
        return ""
    ph, w = 70, W + 180
    h = ph * len(panels) + 22
    idx = _thin(len(ts), 500)
    parts = []
    for k, (label, vals) in enumerate(panels):
        present = [float(v) for v in vals if v is not None]
        lo, hi = min(present), max(present)
        pad = (hi - lo) * 0.1 or abs(hi) * 0.02 or 1.0
        ax = Axes(ts[0], ts[-1], lo - pad, hi + pad, w=w, h=ph, top=6, bottom=6, left=48,
                  right=150)
        g = [f'<g transform="translate(0 {k * ph})">']
        g.extend(f'<rect x="{ax.x(a):.1f}" y="{ax.top}" width="{max(ax.x(b) - ax.x(a), 1.5):.1f}" '
                 f'height="{ph - ax.top - ax.bottom}" fill="{SHADE}" class="throttled"/>'
                 for a, b in shaded)
        g.append(ax.frame("", "", x_ticks=[], y_ticks=nice_ticks(lo, hi, 3)))
        pts = [(ax.x(ts[j]), ax.y(float(vals[j]))) for j in idx
               if j < len(vals) and vals[j] is not None]
        g.append(polyline(pts, COLORS[k % len(COLORS)]))
        g.append(f'<text x="{w - ax.right + 6}" y="{ph / 2 + 4:.0f}" class="lg" '
                 f'fill="{COLORS[k % len(COLORS)]}">{escape(label)}</text></g>')
        parts.extend(g)
    ax = Axes(ts[0], ts[-1], 0, 1, w=w, h=h, left=48, right=150)
    parts.extend(f'<text x="{ax.x(v):.1f}" y="{h - 8}" class="tk" text-anchor="middle">'
                 f'{fmt(v)}</text>' for v in nice_ticks(ts[0], ts[-1]) if ts[0] <= v <= ts[-1])
    parts.append(f'<text x="{w - ax.right + 6}" y="{h - 8}" class="ax">time (s)</text>')
    return svg(parts, title, w=w, h=h)


def _clip(text: str, n: int, keep_tail: bool = False) -> str:
    if len(text) <= n:
        return text
    return "…" + text[-(n - 1):] if keep_tail else text[: n - 1] + "…"
