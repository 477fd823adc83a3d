"""Inline SVG plots, drawn here so the report needs no plotting library and no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

W, H, PAD = 420, 180, 36
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def cdf(series: Sequence[tuple[str, Sequence[float]]], unit: str = "ms") -> str:
    """Empirical CDFs of latency samples, one line per (label, samples)."""
    series = [(label, np.sort(np.asarray(s, dtype=float))) for label, s in series if len(s)]
    if not series:
        return ""
    lo = min(float(s[0]) for _, s in series)
    # Clip the x axis at the largest p99.5 so one outlier does not squash the plot.
    hi = max(float(np.percentile(s, 99.5)) for _, s in series)
    if hi <= lo:
        hi = lo + 1e-9
    parts = [_frame(lo, hi, unit)]
    for i, (label, s) in enumerate(series):
        idx = np.unique(np.linspace(0, len(s) - 1, min(len(s), 400)).astype(int))
        pts = " ".join(f"{_x(min(s[j], hi), lo, hi):.1f},{_y((j + 1) / len(s)):.1f}"
                       for j in idx)
        color = COLORS[i % len(COLORS)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                     f'points="{pts}"/>')
        parts.append(f'<text x="{PAD + 6}" y="{14 + 13 * i}" fill="{color}" '
                     f'font-size="11">{escape(label)} (n={len(s)})</text>')
    return _svg(parts, "latency CDF")


def _frame(lo: float, hi: float, unit: str) -> str:
    ticks = np.linspace(lo, hi, 5)
    out = [f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#888"/>',
           f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{H - PAD}" stroke="#888"/>']
    for t in ticks:
        x = _x(t, lo, hi)
        out.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" font-size="10" '
                   f'text-anchor="middle">{t:.4g}</text>')
    for q in (0.5, 0.9, 0.99):
        y = _y(q)
        out.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - 8}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{PAD - 4}" y="{y + 3:.1f}" font-size="9" '
                   f'text-anchor="end">p{int(q * 100)}</text>')
    out.append(f'<text x="{(W + PAD) / 2}" y="{H - 4}" font-size="10" '
               f'text-anchor="middle">latency ({escape(unit)})</text>')
    return "".join(out)


def _x(v: float, lo: float, hi: float) -> float:
    return PAD + (v - lo) / (hi - lo) * (W - PAD - 8)


def _y(q: float) -> float:
    return (H - PAD) - q * (H - PAD - 8)


def _svg(parts: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
            f'height="{H}" role="img"><title>{escape(title)}</title>{"".join(parts)}</svg>')
