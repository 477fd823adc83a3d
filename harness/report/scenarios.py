"""Per-scenario views across cases: throughput against batch size, the precision ladder
(latency beside the accuracy cost of each precision) and backends side by side with their
speed-up factors. Each view appears only where the scenario has the axis to compare."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from markupsafe import Markup

from harness.report import svg
from harness.report.layers import precision_mix
from harness.report.view import shape_label
from harness.results import CaseResult

PRECISION_ORDER = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4", "best")


def _measured(cases: list[CaseResult]) -> list[CaseResult]:
    return [c for c in cases if c.status == "ok" and c.stats_ms.get("median")]


def _group(cases: list[CaseResult], *axes: str) -> dict[tuple, list[CaseResult]]:
    groups: dict[tuple, list[CaseResult]] = defaultdict(list)
    for c in cases:
        key = tuple(shape_label(c.id) if a == "shape" else c.case.get(a) for a in axes)
        groups[key].append(c)
    return groups


def _label(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def throughput_curves(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """One plot per model: items/s against batch size, a line per backend × precision."""
    out = []
    for (model,), group in _group(cases, "model").items():
        lines = []
        for (backend, precision, shape), cs in _group(group, "backend", "precision",
                                                      "shape").items():
            cs = sorted(cs, key=lambda c: c.case.get("batch") or 0)
            if len(cs) >= 2:
                lines.append((_label(backend, precision, shape),
                              [c.case["batch"] for c in cs], [c.throughput or 0 for c in cs]))
        if lines:
            out.append({"model": model, "plot": Markup(svg.lines(
                lines, "batch size", "items/s", log_x=True, title=f"{model}: throughput",
                show_title=True))})
    return out


def _accuracy_note(acc: dict[str, Any] | None) -> str:
    if not acc:
        return ""
    det = acc.get("detections") or {}
    if det.get("recall") is not None:
        return f"det. recall {det['recall']:.3f}"
    if acc.get("rel_l2") is not None:
        return f"rel-L2 {acc['rel_l2']:.2e}"
    return ""


def precision_ladder(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """Per model/backend/batch/shape: each precision's median latency and speed-up over the
    widest precision measured, beside its accuracy against the reference."""
    out = []
    for (model, backend, batch, shape), cs in _group(cases, "model", "backend", "batch",
                                                      "shape").items():
        if len({c.precision for c in cs}) < 2:
            continue
        cs = sorted(cs, key=lambda c: PRECISION_ORDER.index(c.precision)
                    if c.precision in PRECISION_ORDER else 99)
        ref = cs[0].stats_ms["median"]
        rows = [{"case": c, "precision": c.precision, "median": c.stats_ms["median"],
                 "speedup": ref / c.stats_ms["median"], "accuracy": c.accuracy or {},
                 "note": _accuracy_note(c.accuracy), "mix": precision_mix(c.layers),
                 "engine_bytes": (c.build or {}).get("engine_bytes")} for c in cs]
        plot = svg.bars([(r["precision"], r["median"],
                          f"×{r['speedup']:.2f}" + (f" · {r['note']}" if r["note"] else ""))
                         for r in rows], "ms", title="precision ladder")
        out.append({"title": _label(model, backend, f"b{batch}", shape), "rows": rows,
                    "reference": cs[0].precision, "plot": Markup(plot)})
    return out


def _built(cases: list[CaseResult]) -> list[CaseResult]:
    return [c for c in cases if c.status == "ok" and (c.timing or {}).get("build_only")
            and (c.build or {}).get("engine_bytes")]


def _by_precision(cs: list[CaseResult]) -> list[CaseResult]:
    return sorted(cs, key=lambda c: PRECISION_ORDER.index(c.precision)
                  if c.precision in PRECISION_ORDER else 99)


def build_ladder(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """Build-only precision rungs (an engine built for a target GPU, nothing timed): engine
    size, build time and layers of each precision against the widest, with the layers'
    precisions and the Q/DQ pairs that explain a larger low-precision engine."""
    out = []
    for (model, backend, batch, shape), cs in _group(_built(cases), "model", "backend",
                                                      "batch", "shape").items():
        if len({c.precision for c in cs}) < 2:
            continue
        cs = _by_precision(cs)
        ref = cs[0].build["engine_bytes"]
        rows = [{"case": c, "precision": c.precision, "engine_bytes": c.build["engine_bytes"],
                 "size_ratio": c.build["engine_bytes"] / ref,
                 "build_time_s": c.build.get("build_time_s"),
                 "layer_count": c.build.get("layer_count"), "mix": precision_mix(c.layers)}
                for c in cs]
        plot = svg.bars([(r["precision"], r["engine_bytes"] / 2**20,
                          f"×{r['size_ratio']:.2f} size"
                          + (f" · {r['mix']['qdq_pairs']} Q/DQ" if r["mix"]
                             and r["mix"]["qdq_pairs"] else "")) for r in rows],
                        "MiB", title=f"{model}: engine size per precision")
        out.append({"title": _label(model, backend, f"b{batch}", shape), "rows": rows,
                    "reference": cs[0].precision, "plot": Markup(plot)})
    return out


def backend_comparison(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """Per model/precision/batch/shape with two or more backends: medians and speed-up over
    the slowest backend."""
    out = []
    for (model, precision, batch, shape), cs in _group(cases, "model", "precision", "batch",
                                                        "shape").items():
        if len({c.case.get("backend") for c in cs}) < 2:
            continue
        cs = sorted(cs, key=lambda c: -c.stats_ms["median"])
        slowest = cs[0].stats_ms["median"]
        rows = [{"case": c, "backend": c.case.get("backend"), "median": c.stats_ms["median"],
                 "throughput": c.throughput, "speedup": slowest / c.stats_ms["median"]}
                for c in cs]
        plot = svg.bars([(str(r["backend"]), r["median"], f"×{r['speedup']:.2f}")
                         for r in rows], "ms", title="backends")
        out.append({"title": _label(model, precision, f"b{batch}", shape), "rows": rows,
                    "reference": cs[0].case.get("backend"), "plot": Markup(plot)})
    return out


def scenario_views(cases: list[CaseResult]) -> list[dict[str, Any]]:
    views = []
    for (scenario,), cs in _group(cases, "scenario").items():
        measured = _measured(cs)
        views.append({"name": scenario, "cases": len(cs),
                      "throughput": throughput_curves(measured),
                      "ladder": precision_ladder(measured),
                      "build_ladder": build_ladder(cs),
                      "backends": backend_comparison(measured)})
    return views
