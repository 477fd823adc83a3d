"""A terminal table of the study figures: stage medians, fps, accuracy delta and memory per
case, the shape of the source articles' tables. Reads ``CaseResult`` fields only."""

from __future__ import annotations

from typing import Any

from harness.results import RunResult

STAGE_COLUMNS = ("load", "pre", "h2d", "infer", "d2h", "post", "total")


def study_rows(run: RunResult) -> list[dict[str, Any]]:
    rows = []
    for c in run.cases:
        if c.status != "ok" or not (set(c.stages) - {"load"} or c.accuracy):
            continue
        st = c.stages
        row: dict[str, Any] = {"case": c.id}
        for k in STAGE_COLUMNS:
            row[k] = st.get(k, {}).get("value_ms" if k == "load" else "median")
        total = row["total"] or (c.stats_ms or {}).get("median")
        row["fps"] = c.case.get("batch", 1) / (total / 1e3) if total else None
        acc = c.accuracy or {}
        det = acc.get("detections") or {}
        row.update(rel_l2=acc.get("rel_l2"), cosine=acc.get("cosine"),
                   recall=det.get("recall"), precision=det.get("precision"))
        mem = c.memory or {}
        row.update(model_mb=_mb(mem.get("engine_bytes") or mem.get("model_bytes")),
                   device_mb=_mb(mem.get("device_bytes") or mem.get("torch_peak_bytes")),
                   rss_peak_mb=_mb(mem.get("host_rss_peak_bytes")))
        gates = c.verdict.gates if c.verdict else ()
        row["gates"] = ", ".join(f"{g['gate']} {g['status']}" for g in gates)
        rows.append(row)
    return rows


def _mb(v: int | None) -> float | None:
    return v / 2**20 if v else None


def print_study_table(run: RunResult) -> None:
    rows = study_rows(run)
    if not rows:
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    cols = ["case", *(f"{k} ms" for k in STAGE_COLUMNS), "fps", "rel L2", "cosine", "recall",
            "precision", "model MB", "device MB", "RSS peak MB", "gates"]
    table = Table(title="stages (median), accuracy vs reference, memory")
    for col in cols:
        table.add_column(col, justify="left" if col in ("case", "gates") else "right",
                         overflow="fold", no_wrap=col == "case")
    keys = ["case", *STAGE_COLUMNS, "fps", "rel_l2", "cosine", "recall", "precision",
            "model_mb", "device_mb", "rss_peak_mb", "gates"]
    for r in rows:
        table.add_row(*(escape(_fmt(r[k])) for k in keys))    # case ids are not markup
    Console(width=max(240, Console().width)).print(table)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)
