"""A process-paired A/B record's rounds (``ab --processes``: one per side's process,
docs/results-format.md, "rounds"), as every reader of such a record takes them: the verdict,
the clocks beside it, the report. Its own module so that the clocks' reader, which the
verdict imports, need not import the verdict."""

from __future__ import annotations

from typing import Any


def completed_rounds(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A process-paired record's rounds whose process completed (harness.ab.processes)."""
    return [r for r in record.get("rounds") or [] if r.get("status") == "ok"]
