"""Engine identity: what changed between two builds of one case, from their layer lists
(``CaseResult.layers``: name, type, precision, tactic). A timing change means something
different when the engine itself changed, so the verdict names it beside the figure."""

from __future__ import annotations

from typing import Any

LAYER_KEYS = ("name", "type", "precision", "tactic")
MAX_NAMED = 5


def compact_layers(layers: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The identity-relevant part of a layer list (what a baseline entry keeps)."""
    if layers is None:
        return None
    return [{k: layer.get(k) for k in LAYER_KEYS if layer.get(k) is not None} for layer in layers]


def _named(items: list[str]) -> str:
    head = ", ".join(items[:MAX_NAMED])
    return head + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


def layer_changes(before: list[dict[str, Any]] | None,
                  after: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Added/removed layers, precision and tactic changes (by layer name), with a sentence."""
    if before is None or after is None:
        return {"known": False, "summary": "layer information not recorded for both builds"}
    old = {str(layer.get("name")): layer for layer in before}
    new = {str(layer.get("name")): layer for layer in after}
    added = [n for n in new if n not in old]
    removed = [n for n in old if n not in new]
    common = [n for n in new if n in old]
    precision = [f"{n} {old[n].get('precision')}->{new[n].get('precision')}" for n in common
                 if old[n].get("precision") != new[n].get("precision")]
    tactic = [n for n in common if old[n].get("tactic") != new[n].get("tactic")]
    kind = [f"{n} {old[n].get('type')}->{new[n].get('type')}" for n in common
            if old[n].get("type") != new[n].get("type")]
    parts = []
    if len(before) != len(after):
        parts.append(f"{len(before)} -> {len(after)} layers")
    if added:
        parts.append(f"added {_named(added)}")
    if removed:
        parts.append(f"removed {_named(removed)}")
    if precision:
        parts.append(f"precision changed: {_named(precision)}")
    if kind:
        parts.append(f"type changed: {_named(kind)}")
    if tactic:
        parts.append(f"tactic changed in {len(tactic)} layer(s): {_named(tactic)}")
    return {"known": True, "added": added, "removed": removed, "precision": precision,
            "tactic": tactic, "type": kind,
            "summary": "; ".join(parts) or "same layers, precisions and tactics"}


def engine_identity(current_build: dict[str, Any], current_layers: list[dict[str, Any]] | None,
                    entry: dict[str, Any]) -> dict[str, Any] | None:
    """``None`` when either side has no fingerprint; else whether the engine changed and how."""
    cur = (current_build or {}).get("fingerprint")
    base = (entry.get("build") or {}).get("fingerprint")
    if not cur or not base:
        return None
    if cur == base:
        return {"changed": False, "fingerprint": cur}
    diff = layer_changes(entry.get("layers"), compact_layers(current_layers))
    return {"changed": True, "baseline_fingerprint": base, "current_fingerprint": cur,
            "layers": diff, "summary": f"engine changed ({base[:12]} -> {cur[:12]}): "
                                       f"{diff['summary']}"}
