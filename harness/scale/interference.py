"""Interference, recorded rather than ignored: the GPUs of one host share its CPU cores, PCIe
and power budget, so a case measured while others ran beside it says so
(``timing.concurrent_with``: the ids of the cases whose run overlapped it on the same host)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.results import CaseResult


def mark_concurrent(cases: Iterable[CaseResult]) -> None:
    """Set ``timing["concurrent_with"]`` on every case that has wall-clock start and end times
    (``started_at`` / ``finished_at``, epoch seconds) from the cases that overlapped it on the
    same ``host``; cases without times (skipped before running, not measured) are left alone."""
    timed = [c for c in cases if isinstance((c.timing or {}).get("started_at"), int | float)
             and isinstance(c.timing.get("finished_at"), int | float)]
    for c in timed:
        t = c.timing
        c.timing["concurrent_with"] = sorted(
            o.id for o in timed
            if o is not c and o.timing.get("host") == t.get("host")
            and o.timing["started_at"] < t["finished_at"]
            and t["started_at"] < o.timing["finished_at"])
