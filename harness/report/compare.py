"""Compare result files directly, no baseline store: the last file is the candidate, the
earlier ones its reference history (oldest first), judged by the same verdict rule as a
baseline. Platform and backend differences are what such a comparison is usually for (a new
driver, a TensorRT upgrade), so they are stated in the reason rather than refused."""

from __future__ import annotations

import copy
from typing import Any

from harness.baseline.store import entry
from harness.baseline.verdict import compare_case
from harness.platform import platform_differences
from harness.results import RunResult


def compare_runs(references: list[RunResult], candidate: RunResult
                 ) -> tuple[RunResult, dict[str, list[dict[str, Any]]]]:
    """The candidate with verdicts against the references, and the history the report
    draws (case id -> reference entries)."""
    run = copy.deepcopy(candidate)
    history: dict[str, list[dict[str, Any]]] = {}
    diffs = [d for ref in references for d in platform_differences(ref.platform, run.platform)]
    for c in run.cases:
        entries = [entry(ref, rc) for ref in references
                   if (rc := ref.case(c.id)) is not None and rc.status == "ok"]
        notes = list(dict.fromkeys(diffs))
        if entries and entries[-1]["backend"] != c.backend:
            notes.append(f"backend {_name(entries[-1]['backend'])} -> {_name(c.backend)}")
        for e in entries:        # compared on purpose across these: not 'incomparable'
            e["backend"], e["precision"] = c.backend, c.precision
        current = {"status": c.status, "error": c.error, "stats_ms": c.stats_ms,
                   "backend": c.backend, "precision": c.precision}
        tolerance = (c.case.get("tolerance") or {}).get("median")     # None: the default
        v = compare_case(current, entries, tolerance)
        if not entries and c.status == "ok":
            v = v.updated(reason="not in the reference result file(s)")
        if notes:
            v = v.updated(reason=v.reason + f" [compared across: {'; '.join(notes)}]",
                          differences=notes)
        c.verdict = v
        history[c.id] = entries
    return run, history


def _name(backend: dict[str, Any]) -> str:
    return f"{backend.get('name', '?')} {backend.get('version', '')}".strip()
