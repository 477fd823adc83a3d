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
from harness.baseline.verdict import first_layout_seed, layout_figures
from harness.layout import layouts_wanted
from harness.runner import PlannedCase
from harness.timing.mode import replayed


def layout_history(entries: list[dict[str, Any]]) -> list[list[float]]:
    """The log medians of each accepted run's layouts (runs timed in one layout give none)."""
    runs = []
    for e in entries:
        logs = [math.log(x["median_ms"]) for x in layout_figures(e)
                if (x.get("median_ms") or 0) > 0]
        if len(logs) >= 2:
            runs.append(logs)
    return runs


def replayed_seed(entries: list[dict[str, Any]]) -> int | None:
    """The first layout seed of the newest accepted run measured in random layouts (its
    layouts are seeds ``first, first + 1, ...``), or None.

    Why replay: a layout's bias is deterministic (the same seed, after the same preparations,
    lands the same way in any process: 0.04-0.09 % on the H200, session 13) while layouts
    differ by 0.2-2 %. A run that draws the baseline's seeds again pairs each of its layouts
    with the baseline's, and the layouts' spread drops out of the comparison; a change that
    moves allocations breaks the pairs, which the paired spread then shows."""
    return next((first for first in map(first_layout_seed, reversed(entries))
                 if first is not None), None)


def plan_layouts(planned: list[PlannedCase], store: BaselineStore,
                 platform_id: str) -> list[PlannedCase]:
    """``planned`` with each case's layout count from its history (``Case.history_layouts``)
    where the scenario leaves ``timing.layouts`` unset and accepted runs with layouts exist,
    and the seeds of its newest such run (``Case.history_layout_seed``) to replay; an auto
    timing mode takes the newest run's choice (``Case.chosen_mode``)."""
    out = []
    for p in planned:
        case = p.case
        entries = store.case_entries(platform_id, case.scenario, case.id)
        if case.timing.layouts is None:
            history = layout_history(entries)
            if history:
                case = dataclasses.replace(case, history_layouts=layouts_wanted(history))
        if case.timing.mode == "auto" and (chosen := replayed(entries)) is not None:
            case = dataclasses.replace(case, chosen_mode=chosen)
        seed = replayed_seed(entries) if case.timing.replay_layouts else None
        if seed is not None:
            case = dataclasses.replace(case, history_layout_seed=seed)
        out.append(PlannedCase(case, p.base_dir))
    return out
