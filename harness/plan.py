"""What a run measures: the cases of its scenario files and their ``[[ab]]`` pairs, from one
parse of each file (every file checked before anything runs)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError
from harness.runner import PlannedCase, case_base_dir
from harness.scenario.expand import expand
from harness.scenario.load import load_scenario

if TYPE_CHECKING:
    from harness.ab.plan import ABPair


@dataclass(frozen=True)
class Plan:
    """The planned cases (each with its scenario file's folder) and the A/B pairs the
    scenario files' ``[[ab]]`` tables name (their cases are the planned cases' own)."""

    cases: list[PlannedCase]
    pairs: list[ABPair]


def load_plan(paths: list[str | Path], select: list[str] | None = None) -> Plan:
    """Load, validate and expand scenario files once each. ``select`` (globs over case ids)
    keeps the matching cases and the pairs with a matching side; a glob that matches nothing
    is an error."""
    from harness.ab.plan import scenario_pairs

    cases: list[PlannedCase] = []
    pairs: list[ABPair] = []
    errors: list[ConfigError] = []
    names: dict[str, str] = {}
    for p in paths:
        try:
            scenario = load_scenario(p)
            if scenario.name in names:
                raise ConfigError(f"scenario name {scenario.name!r} is also used by "
                                  f"{names[scenario.name]}", file=str(p), key="name")
            names[scenario.name] = str(p)
            base = case_base_dir(p)
            expanded = expand(scenario, str(p))
            cases.extend(PlannedCase(c, base) for c in expanded)
            pairs.extend(scenario_pairs(scenario, {c.id: c for c in expanded}, p, base))
        except ConfigError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]     # keeps its file and key for callers
    if errors:
        raise ConfigError("\n".join(map(str, errors)))
    return selected(Plan(cases, pairs), select) if select else Plan(cases, pairs)


def selected(plan: Plan, select: list[str]) -> Plan:
    """The cases whose id matches one of the globs ``select``, and the pairs with a side that
    does; :class:`ConfigError` for a glob that matches no case."""
    ids = [p.case.id for p in plan.cases]
    # A glob that selects nothing is a typo that would silently shrink the gate.
    unmatched = [s for s in select if not fnmatch.filter(ids, s)]
    if unmatched:
        raise ConfigError(f"no case matches {', '.join(map(repr, unmatched))}",
                          key="--case", expected="globs over case ids (see "
                          "'trt-harness list')")

    def chosen(case_id: str) -> bool:
        return any(fnmatch.fnmatchcase(case_id, s) for s in select)

    return Plan([p for p in plan.cases if chosen(p.case.id)],
                [p for p in plan.pairs if chosen(p.a.id) or chosen(p.b.id)])
