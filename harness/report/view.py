"""What the report shows of one case: plain dicts and SVG strings built from a CaseResult and
its baseline history. No markup here beyond the plots; the template lays it out.

``history`` is the case's accepted baseline entries (oldest first, as the baseline store keeps
them: ``stats_ms``, ``samples_ms``, ``run_id``, ``accepted`` and, for TensorRT, ``layers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from harness.baseline.creep import detect_changes
from harness.commit import short
from harness.report import svg
from harness.report.layers import layer_diff, layer_rows
from harness.results import CaseResult
from harness.verdict import Verdict

STAGE_ORDER = ("load", "pre", "h2d", "infer", "d2h", "post", "total")

# NVML clocks-event (throttle) reason bits, nvmlClocksEventReason*; idle and the application
# clock setting are normal states, everything else slowed the GPU down while we measured.
THROTTLE_BITS = {0x1: "gpu idle", 0x2: "application clocks", 0x4: "SW power cap",
                 0x8: "HW slowdown", 0x10: "sync boost", 0x20: "SW thermal slowdown",
                 0x40: "HW thermal slowdown", 0x80: "HW power brake", 0x100: "display clocks"}
BENIGN_BITS = 0x1 | 0x2 | 0x100

# What each memory figure contains (docs/pipelines.md, "Memory"): device_bytes is the case's
# own need and is gated; harness_* are the harness's buffers, process_* the whole process's
# allocator (context only, never gated).
MEMORY_LABELS = {"model_bytes": "model weights", "engine_bytes": "engine",
                 "device_bytes": "device memory the case needs (gated)",
                 "context_bytes": "execution context",
                 "torch_peak_bytes": "torch peak, whole process (older runs)",
                 "harness_layout_pad_bytes": "harness: layout pads (not the case's)",
                 "harness_graph_pool_bytes": "harness: captured CUDA graph pool",
                 "harness_input_sets_bytes": "harness: rotated input sets (cold runs)",
                 "process_reserved_bytes": "process: allocator reserved (context)",
                 "process_peak_bytes": "process: allocator peak (context)",
                 "process_library_workspace_bytes":
                     "process: cuBLAS/cuDNN workspaces first allocated here (context)",
                 "host_rss_peak_bytes": "host RSS peak"}


def shape_label(case_id: str) -> str:
    """The optional shape part of ``scenario/model/backend/precision/bN[/shape]``."""
    return "/".join(case_id.split("/")[5:])


def verdict_of(c: CaseResult) -> Verdict:
    """The case's verdict; a case never judged reads as its run status ("new" when it ran)."""
    if c.verdict:
        return c.verdict
    return Verdict(c.status if c.status != "ok" else "new", c.error or "")


def ab_verdict_of(r: dict[str, Any]) -> Verdict:
    """An A/B record's verdict; a record never judged reads as its status and error."""
    if r.get("verdict"):
        return Verdict.read(r["verdict"])
    return Verdict(r.get("status", "failed"), r.get("error") or "")


def change_interval(v: Verdict | Mapping[str, Any]) -> tuple[float, float] | None:
    """The interval of the relative change: the verdict's own ``ci`` where the statistics
    give one, else the current median's CI over the baseline median."""
    if isinstance(v, Mapping):         # a verdict dict as stored
        v = Verdict.from_json(v)
    ci = v.ci
    if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
        return float(ci[0]), float(ci[1])
    if isinstance(ci, Mapping) and ci.get("low") is not None and ci.get("high") is not None:
        return float(ci["low"]), float(ci["high"])
    base, cur = v.get("baseline_ms"), v.get("current_ci_ms")
    if base and cur and None not in cur:
        return cur[0] / base - 1.0, cur[1] / base - 1.0
    return None


def human_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} GiB"


def engine_summary(build: dict[str, Any] | None) -> dict[str, Any] | None:
    """Engine size, build time and layer count in one cell of the case table (what a
    build-only case has instead of latency)."""
    b = build or {}
    if not b.get("engine_bytes"):
        return None
    parts = [human_bytes(b["engine_bytes"])]
    if b.get("build_time_s") is not None:
        parts.append(f"built in {b['build_time_s']:.3g} s"
                     + (" (cache)" if b.get("cache_hit") else ""))
    if b.get("layer_count") is not None:
        parts.append(f"{b['layer_count']} layers")
    return {"bytes": b["engine_bytes"], "text": " · ".join(parts)}


def case_view(c: CaseResult, history: list[dict[str, Any]],
              commit: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the template shows of one case; ``commit`` is the run's (harness.commit)."""
    v = verdict_of(c)
    base = history[-1] if history else None
    series = [("this run", c.samples_ms)]
    if base and base.get("samples_ms"):
        series.append(("baseline", base["samples_ms"]))
    return {
        "r": c, "verdict": v, "change": v.change, "change_ci": change_interval(v),
        "shape": shape_label(c.id),
        "cdf": Markup(svg.cdf(series)) if c.samples_ms else "", "has_baseline": len(series) > 1,
        "stages": stage_view(c.stages),
        "telemetry": telemetry_view(c.telemetry),
        "accuracy": c.accuracy,
        "memory": [(MEMORY_LABELS.get(k, k), human_bytes(b), b) for k, b in c.memory.items()
                   if b is not None],
        "history": history_view(c, history, commit),
        "layers": layer_rows(c.layers) if c.layers else None,
        "engine": engine_summary(c.build),
        "gates": list(v.gates),
        "layer_diff": layer_diff(base.get("layers") if base else None, c.layers),
    }


def stage_view(stages: dict[str, Any]) -> dict[str, Any] | None:
    """Rows per stage in pipeline order and one stacked bar of the per-inference stages
    (``load`` happens once and ``total`` is their sum: both are listed, not stacked)."""
    if not stages:
        return None
    names = sorted(stages, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99)
    rows = []
    for name in names:
        st = stages[name] or {}
        rows.append({"stage": name, "median": st.get("median", st.get("value_ms")),
                     "ci": (st.get("median_ci_low"), st.get("median_ci_high")),
                     "p99": st.get("p99"), "n": st.get("n"), "once": "value_ms" in st})
    segments = [(r["stage"], r["median"]) for r in rows
                if r["stage"] not in ("load", "total") and not r["once"]]
    return {"rows": rows, "plot": Markup(svg.stacked(segments, "ms", "stage breakdown"))}


def throttled_spans(t: list[float], flagged: list[bool]) -> list[tuple[float, float]]:
    """Contiguous runs of flagged samples as (start, end) times; a span ends at the next
    sample's time, so a single flagged sample still shades its sampling interval."""
    spans: list[tuple[float, float]] = []
    start = None
    for i, f in enumerate(flagged[: len(t)]):
        if f and start is None:
            start = t[i]
        if start is not None and (not f or i == len(t) - 1):
            end = t[i] if not f else (t[i] + (t[i] - t[i - 1] if i else 0.0))
            spans.append((start, end))
            start = None
    return spans


def decode_throttle(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_BITS.items() if mask & bit]


def telemetry_view(tel: dict[str, Any] | None) -> dict[str, Any] | None:
    if not tel or not isinstance(tel.get("samples"), dict):
        return None
    s = tel["samples"]
    t = [float(x) for x in s.get("t_s") or []]
    reasons = [int(r or 0) for r in s.get("throttle_reasons") or []]
    flagged = s.get("flagged") or [bool(r & ~BENIGN_BITS) for r in reasons]
    union = 0
    for r, f in zip(reasons, flagged, strict=False):
        if f:
            union |= r
    panels = [("SM clock (MHz)", s.get("sm_clock_mhz")),
              ("mem clock (MHz)", s.get("mem_clock_mhz")),
              ("power (W)", s.get("power_w")), ("temperature (°C)", s.get("temp_c")),
              ("utilisation (%)", s.get("util_pct"))]
    share = tel.get("flagged_share")
    if share is None and flagged:
        share = sum(map(bool, flagged)) / len(flagged)
    return {"gpu": tel.get("gpu"), "flagged_share": share, "settle_s": tel.get("settle_s"),
            "reasons": decode_throttle(union & ~BENIGN_BITS), "clocks": tel.get("clocks") or {},
            "summary": tel.get("summary") or {}, "n": len(t),
            "plot": Markup(svg.timeline(t, panels, throttled_spans(t, list(flagged))))}


def history_view(c: CaseResult, history: list[dict[str, Any]],
                 commit: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Each accepted baseline's median (with its CI) and this run's, oldest first, labelled
    with the commit each measured (its short sha; the run's number where none was recorded)."""
    points = [(e.get("run_id", "?"), e.get("commit"), e.get("stats_ms") or {}) for e in history]
    if c.stats_ms:
        points.append(("this run", commit, c.stats_ms))
    points = [p for p in points if p[2].get("median") is not None]
    if len(points) < 2:
        return None
    xs = list(range(1, len(points) + 1))
    ys = [s["median"] for _, _, s in points]
    errs = [(s.get("median_ci_low"), s.get("median_ci_high")) for _, _, s in points]
    labels = [short(at, 7) or str(x) for x, (_, at, _) in zip(xs, points, strict=True)]
    if len(labels) > 8:     # a sha is ~40 px wide at the tick font: every other one, newest kept
        labels = [lab if (len(labels) - i) % 2 == 0 else "" for i, lab in enumerate(labels, 1)]
    # Detected change points over the accepted runs (harness.baseline.creep): a marker
    # between the runs of a step, and at the end of a creep
    accepted = sum(1 for e in history if (e.get("stats_ms") or {}).get("median") is not None)
    changes = detect_changes([s["median"] for _, _, s in points[:accepted]])
    markers = [(c.start + 1.5 if c.kind == "step" else c.end + 1.0,
                f"{c.kind} {c.change:+.1%}") for c in changes]
    plot = svg.lines([("median (ms)", xs, ys)], "accepted runs' commits, oldest → newest "
                     "(last: this run)", "median (ms)", errors=[errs], x_ticks=xs,
                     x_tick_labels=labels, title="history of the median", markers=markers)
    return {"plot": Markup(plot), "rows": [{"run": rid, "commit": short(at), "median": s["median"],
                                            "ci": (s.get("median_ci_low"), s.get("median_ci_high"))}
                                           for rid, at, s in points],
            "changes": [c.describe() for c in changes]}
