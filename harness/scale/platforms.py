"""Platforms kept apart: a run (or a merge of runs) whose cases measured on several platforms
is judged, and its history looked up, per platform, each against that platform's baselines."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.baseline.store import BaselineStore
from harness.results import CaseResult, RunResult


def case_platform(run: RunResult, case: CaseResult) -> str:
    return case.platform_id or run.platform_id


def split_by_platform(run: RunResult) -> list[RunResult]:
    """One view of ``run`` per platform its cases ran on (the run's own first); the views share
    the case records, so a verdict set on a view's case is set on the run's."""
    groups: dict[str, list[CaseResult]] = {}
    for c in run.cases:
        groups.setdefault(case_platform(run, c), []).append(c)
    if list(groups) in ([], [run.platform_id]):
        return [run]
    parts = []
    for pid, cases in sorted(groups.items(), key=lambda kv: (kv[0] != run.platform_id, kv[0])):
        platform = next((c.platform for c in cases if c.platform), None) or run.platform
        parts.append(dataclasses.replace(run, platform_id=pid, platform=platform, cases=cases,
                                         ab=[]))
    return parts


def platform_ids(run: RunResult) -> list[str]:
    return [p.platform_id for p in split_by_platform(run)]


def labelled(run: RunResult, history: dict[str, list[dict[str, Any]]] | None
             ) -> tuple[RunResult, dict[str, list[dict[str, Any]]] | None]:
    """What the report shows: on one platform, the run as it is; on several, a copy whose case
    ids are prefixed by their platform (``platform-id: case id``, grouped by platform), so the
    same case measured on two platforms is two rows, each with its own baseline history.
    ``history`` is keyed ``(platform id, case id)`` -> entries on several platforms."""
    parts = split_by_platform(run)
    if len(parts) == 1:
        return run, history
    cases, shown = [], {}
    for part in parts:
        for c in part.cases:
            label = f"{part.platform_id}: {c.id}"
            cases.append(dataclasses.replace(c, id=label))
            if history and (part.platform_id, c.id) in history:
                shown[label] = history[(part.platform_id, c.id)]   # type: ignore[index]
    return dataclasses.replace(run, cases=cases,
                               platform_id=" + ".join(p.platform_id for p in parts)), shown


def history_by_platform(run: RunResult, store: BaselineStore) -> dict[Any, list[dict[str, Any]]]:
    """Baseline history per case, each from its own platform's store (keys: case ids on one
    platform, ``(platform id, case id)`` on several, as :func:`labelled` reads them)."""
    from harness.report.outputs import baseline_history

    parts = split_by_platform(run)
    if len(parts) == 1:
        return baseline_history(run, store)
    return {(part.platform_id, cid): entries for part in parts
            for cid, entries in baseline_history(part, store).items()}
