"""The telemetry beside each figure in the report: an SM-clock-over-time plot (flagged
samples in red, warm-up and measure phases shaded) and a few key facts. Pure SVG/text."""

from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 420, 120, 34


def clock_plot(tel: dict[str, Any] | None) -> str:
    """SVG of the SM clock (MHz) against time, or "" when there are no samples."""
    s = (tel or {}).get("samples") or {}
    t, mhz, flagged = s.get("t_s") or [], s.get("sm_clock_mhz") or [], s.get("flagged") or []
    pts = [(a, b) for a, b in zip(t, mhz, strict=False) if b is not None]
    if len(pts) < 2:
        return ""
    t0, t1 = pts[0][0], pts[-1][0]
    hi = max(b for _, b in pts) * 1.05 or 1.0
    span = (t1 - t0) or 1.0

    def x(v: float) -> float:
        return PAD + (v - t0) / span * (W - PAD - 8)

    def y(v: float) -> float:
        return H - 18 - v / hi * (H - 28)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'role="img" aria-label="SM clock over time">']
    ph = tel.get("phases") or {}
    for a, b, color in (("warmup_start", "measure_start", "#f3e5f5"),
                        ("measure_start", "measure_end", "#ffebee")):
        if a in ph and b in ph:
            parts.append(f'<rect x="{x(ph[a]):.1f}" y="8" width="{max(x(ph[b]) - x(ph[a]), 1):.1f}"'
                         f' height="{H - 26}" fill="{color}"/>')
    line = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in pts)
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.3" points="{line}"/>')
    for (a, b), f in zip(pts, flagged, strict=False):
        if f:
            parts.append(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="2" fill="#d62728"/>')
    parts.append(f'<text x="2" y="{y(hi / 1.05) + 4:.0f}" font-size="10">{hi / 1.05:.0f}</text>'
                 f'<text x="2" y="{H - 18}" font-size="10">0</text>'
                 f'<text x="{PAD}" y="{H - 4}" font-size="10">SM clock (MHz) over {span:.2g} s; '
                 f'purple warm-up, red measure, dots flagged</text></svg>')
    return "".join(parts)


def facts(tel: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) rows: clocks, power, temperature, flagged share, settle time, state."""
    if not tel:
        return []
    if not tel.get("samples"):
        return [("telemetry", escape(str(tel.get("note", "none"))))]
    sm = tel.get("summary") or {}

    def rng(key: str, unit: str, scale: float = 1.0) -> str:
        v = sm.get(key)
        if not v:
            return "–"
        return (f"{v['min'] / scale:.4g}–{v['max'] / scale:.4g} {unit} "
                f"(median {v['median'] / scale:.4g})")

    clocks = tel.get("clocks") or {}
    rows = [("GPU", str(tel.get("gpu"))),
            ("SM clock (measure)", rng("sm_clock_mhz", "MHz")),
            ("memory clock", rng("mem_clock_mhz", "MHz")),
            ("power", rng("power_w", "W")), ("temperature", rng("temp_c", "°C")),
            ("GPU memory used", rng("mem_used_bytes", "GiB", 2**30)),
            ("utilisation", rng("util_pct", "%")),
            ("slowdown share", f"{tel.get('flagged_share', 0):.1%} (limit "
                               f"{tel.get('flagged_limit', 0):.1%})"
                               + (" — UNSTABLE" if tel.get("unstable") else "")),
            ("reasons seen", ", ".join(f"{k} ×{v}" for k, v in
                                       (sm.get("reasons_seen") or {}).items()) or "none"),
            ("clock settled after", "–" if tel.get("settle_s") is None
             else f"{tel['settle_s']:.3g} s of warm-up"),
            ("clock state", f"max SM {clocks.get('sm_max_clock_mhz')} MHz, app clocks "
                            f"{clocks.get('sm_app_clock_mhz')}/{clocks.get('sm_default_app_clock_mhz')}"
                            f" MHz, locked/app-set: {clocks.get('locked_or_app_clocks')}, "
                            f"persistence {clocks.get('persistence_mode')}, power limit "
                            f"{clocks.get('power_limit_w')} W")]
    probe = tel.get("in_kernel_clock")
    if probe:
        rows.append(("in-kernel SM clock", f"{probe['min_mhz']:.0f}–{probe['max_mhz']:.0f} MHz, "
                                           f"{probe['below_75pct']} of {probe['readings']} "
                                           "below 75 %"))
    return rows
