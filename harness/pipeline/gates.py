"""Absolute gates beside the baseline verdict: service-level objectives (``fps >= 30``,
``p99 <= 10 ms``) and the accuracy delta against the reference. Pure functions.

A baseline verdict asks "did it get slower than before?"; a gate asks "is it good enough?".
A case can pass the first and fail the second (a model that was always too slow for 30 fps).
A failed gate turns the case's verdict into ``regression`` with the gate's reason, so the run
exits 1, as for any regression.
"""

from __future__ import annotations

from typing import Any

from harness.verdict.records import Verdict

PASSING = ("pass", "new", "improvement")


def gate(name: str, ok: bool, reason: str, **fields: Any) -> dict[str, Any]:
    return {"gate": name, "status": "pass" if ok else "fail", "reason": reason, **fields}


def check_slo(slo: dict[str, Any] | None, batch: int, stages: dict[str, Any],
              stats_ms: dict[str, Any]) -> list[dict[str, Any]]:
    """Each objective of ``slo`` (the schema's Slo as a dict) against the case's figures: the
    pipeline stage it names, or the engine alone when the case has no pipeline stages."""
    if not slo:
        return []
    stage = slo.get("stage", "total")
    figures = stages.get(stage) if stages.get(stage, {}).get("median") else None
    where = stage if figures else "engine"
    figures = figures or stats_ms
    if not figures or figures.get("median") is None:
        return [gate("slo", False, "no latency was measured to check the SLO against")]
    out = []
    if slo.get("fps") is not None:
        got = batch / (figures["median"] / 1e3)
        out.append(gate("slo.fps", got >= slo["fps"],
                        f"{where} {got:.1f} fps {'>=' if got >= slo['fps'] else '<'} "
                        f"{slo['fps']:g} fps (at the median)", value=got, limit=slo["fps"]))
    for key in ("median", "p99"):
        limit = slo.get(key)
        if limit is None:
            continue
        got, limit_ms = figures.get(key), limit * 1e3
        ok = got is not None and got <= limit_ms
        out.append(gate(f"slo.{key}", ok, f"{where} {key} {got:.4g} ms "
                        f"{'<=' if ok else '>'} {limit_ms:.4g} ms", value=got, limit=limit_ms))
    return out


def check_accuracy(accuracy: dict[str, Any] | None, tolerance: float) -> list[dict[str, Any]]:
    """The accuracy delta against the reference within ``tolerance``: relative L2 error of the
    raw outputs, and 1 - recall / 1 - precision of the detections after post-processing."""
    if not accuracy or accuracy.get("reference") is None:
        return []
    out = []
    if accuracy.get("rel_l2") is not None:
        got = accuracy["rel_l2"]
        out.append(gate("accuracy.rel_l2", got <= tolerance,
                        f"relative L2 error {got:.3g} {'<=' if got <= tolerance else '>'} "
                        f"{tolerance:g} vs {accuracy['reference']}", value=got,
                        limit=tolerance))
    det = accuracy.get("detections")
    if det:
        loss = 1.0 - min(det["recall"], det["precision"])
        out.append(gate("accuracy.detections", loss <= tolerance,
                        f"detections recall {det['recall']:.3f} precision "
                        f"{det['precision']:.3f} vs {accuracy['reference']} (tolerance "
                        f"{tolerance:g})", value=loss, limit=tolerance))
    return out


def apply_gates(verdict: Verdict, gates: list[dict[str, Any]]) -> Verdict:
    """A new verdict with the gates attached; a failed gate makes a passing verdict a
    ``regression`` whose reason names the gate (the latency verdict stays in ``latency``)."""
    if not gates:
        return verdict
    out = verdict.updated(gates=gates)
    failed = [g for g in gates if g["status"] == "fail"]
    if failed and verdict.status in PASSING:
        out = out.updated(latency={"status": verdict.status, "reason": verdict.reason},
                          status="regression",
                          reason="; ".join(g["reason"] for g in failed)
                          + f" (latency: {verdict.reason})", metric=failed[0]["gate"])
    return out


def case_gates(case_result: Any) -> list[dict[str, Any]]:
    """The gates of one measured ``CaseResult`` (none for failed or skipped cases)."""
    if case_result.status != "ok":
        return []
    spec = case_result.case
    return (check_slo(spec.get("slo"), spec.get("batch", 1), case_result.stages or {},
                      case_result.stats_ms or {})
            + check_accuracy(case_result.accuracy, spec.get("tolerance", {}).get("accuracy",
                                                                                 1e-2)))
