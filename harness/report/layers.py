"""TensorRT per-layer views: this engine's layers (time, precision, tactic) and what changed
against the baseline's engine. A new TensorRT version or a builder flag often changes a few
tactics or a layer's precision; the diff names those layers instead of a bare "slower".
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from harness.report import svg

TOP_LAYERS = 15


def layer_rows(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """All layers, slowest first where timed (engine order otherwise), and a bar chart of the
    slowest ``TOP_LAYERS`` with their share of the summed layer time."""
    timed = [la for la in layers if la.get("time_ms") is not None]
    total = sum(float(la["time_ms"]) for la in timed)
    rows = sorted(layers, key=lambda la: -(la.get("time_ms") or 0.0)) if timed else list(layers)
    plot = ""
    if timed and total > 0:
        top = rows[:TOP_LAYERS]
        plot = svg.bars([(str(la.get("name", "?")), float(la["time_ms"]),
                          f"{float(la['time_ms']) / total:.0%} · {la.get('precision', '?')}")
                         for la in top if la.get("time_ms") is not None], "ms",
                        title="slowest layers", label_w=190, keep_tail=True)
    return {"rows": rows, "count": len(layers), "total_ms": total if timed else None,
            "plot": Markup(plot)}


def layer_diff(before: list[dict[str, Any]] | None,
               after: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Layer-by-layer changes between the baseline's engine and this one, matched by name.
    None when either side has no layer information."""
    if not before or not after:
        return None
    old = {str(la.get("name")): la for la in before}
    new = {str(la.get("name")): la for la in after}
    rows = []
    for name in [*new, *(n for n in old if n not in new)]:
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            rows.append({"name": name, "change": "added" if a is None else "removed",
                         "before": a or {}, "after": b or {}, "delta_ms": None})
            continue
        what = [k for k in ("type", "precision", "tactic") if a.get(k) != b.get(k)]
        ta, tb = a.get("time_ms"), b.get("time_ms")
        delta = tb - ta if ta is not None and tb is not None else None
        if what or (delta is not None and abs(delta) > 0.1 * max(ta or 0.0, 1e-3)):
            rows.append({"name": name, "change": ", ".join(what) or "time",
                         "before": a, "after": b, "delta_ms": delta})
    rows.sort(key=lambda r: -abs(r["delta_ms"] or 0.0))
    return {"rows": rows, "before_count": len(before), "after_count": len(after),
            "unchanged": len(after) - sum(r["change"] != "removed" for r in rows)}


def precision_mix(layers: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Which precision the engine's layers produce (count per precision, from the layer
    information) and how many Q/DQ pairs it holds: why an INT8 engine can be *larger* than the
    FP32 one (each pair adds layers and scales; reformatting layers run between precisions)."""
    if not layers:
        return None
    counts: dict[str, int] = {}
    quant = dequant = 0
    for la in layers:
        kind = str(la.get("type") or "").lower()
        quant += kind in ("quantize", "qdq_quantize")
        dequant += kind in ("dequantize", "qdq_dequantize")
        prec = _precision_name(la.get("precision"))
        counts[prec] = counts.get(prec, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    pairs = min(quant, dequant)
    text = " · ".join(f"{p} {n}" for p, n in ranked)
    if quant or dequant:
        text += f" · {pairs} Q/DQ pair{'s' if pairs != 1 else ''}"
    return {"by_precision": ranked, "qdq_pairs": pairs, "layers": len(layers), "text": text}


def _precision_name(value: Any) -> str:
    """A layer's output precision in one vocabulary, whether it came from the network
    ("float16") or the engine inspector ("Half format: ...", "Int8 ...")."""
    text = str(value or "?").lower()
    for key, name in (("bfloat16", "bf16"), ("bf16", "bf16"), ("float16", "fp16"),
                      ("half", "fp16"), ("float8", "fp8"), ("fp8", "fp8"), ("int8", "int8"),
                      ("int4", "int4"), ("int32", "int32"), ("int64", "int64"),
                      ("bool", "bool"), ("float", "fp32"), ("fp32", "fp32")):
        if key in text:
            return name
    return text
