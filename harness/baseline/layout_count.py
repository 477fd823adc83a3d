"""How many memory layouts a case's next run draws, from its accepted runs.

A stored run times each case in several random layouts (:mod:`harness.layout`); where the
layouts of a case disagree, its run mean needs more of them. The count is decided before the
case is measured, from the spread its accepted runs showed (:func:`harness.layout.layouts_wanted`),
never from the run's own first layouts (optional stopping biases the mean; the function's
docstring has the figures). A scenario's own ``timing.layouts`` is kept as written.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from harness.baseline.store import BaselineStore
from harness.baseline.verdict import layout_figures
from harness.layout import layouts_wanted
from harness.runner import PlannedCase


def layout_history(entries: list[dict[str, Any]]) -> list[list[float]]:
    """The log medians of each accepted run's layouts (runs timed in one layout give none)."""
    runs = []
    for e in entries:
        logs = [math.log(x["median_ms"]) for x in layout_figures(e)
                if (x.get("median_ms") or 0) > 0]
        if len(logs) >= 2:
            runs.append(logs)
    return runs


def plan_layouts(planned: list[PlannedCase], store: BaselineStore,
                 platform_id: str) -> list[PlannedCase]:
    """``planned`` with each case's layout count from its history (``Case.history_layouts``)
    where the scenario leaves ``timing.layouts`` unset and accepted runs with layouts exist."""
    out = []
    for p in planned:
        case = p.case
        if case.timing.layouts is None:
            history = layout_history(store.case_entries(platform_id, case.scenario, case.id))
            if history:
                case = dataclasses.replace(case, history_layouts=layouts_wanted(history))
        out.append(PlannedCase(case, p.base_dir))
    return out
