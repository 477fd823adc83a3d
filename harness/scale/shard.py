"""Shards: a deterministic, cost-balanced part of a scenario matrix (``run --shard i/N``).

A case's cost is its last known time on this platform (the newest accepted baseline entry:
measure + warm-up + build); a case never measured costs the median known cost. Cases are
assigned by greedy longest-processing-time first (the most expensive unit goes to the least
loaded shard; ties by case id, then shard index), not round-robin, so the shards finish at
about the same time. Both cases of an ``[[ab]]`` table form one unit and never split. The N
shards together are exactly the matrix: every case is in exactly one.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.baseline.store import BaselineStore
from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.plan import Plan


@dataclass(frozen=True)
class Shard:
    index: int      # 1-based, as written on the command line
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``i/N`` with ``1 <= i <= N``; :class:`argparse.ArgumentTypeError` otherwise (exit 2)."""
        index, sep, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if not sep or shard is None or not 1 <= shard.index <= shard.count:
            raise argparse.ArgumentTypeError(f"{text!r}: expected i/N with 1 <= i <= N "
                                             "(e.g. 2/4)")
        return shard

    def record(self, case_ids: list[str]) -> dict[str, Any]:
        """What the results file keeps (``RunResult.shard``)."""
        return {"index": self.index, "count": self.count, "case_ids": case_ids}


def entry_cost(entry: dict[str, Any]) -> float | None:
    """Seconds one accepted run of a case took: measuring + warm-up + engine build."""
    timing, build = entry.get("timing") or {}, entry.get("build") or {}
    parts = [timing.get("measure_s"), timing.get("warmup_s"), build.get("build_time_s")]
    known = [float(p) for p in parts if isinstance(p, int | float)]
    return sum(known) if known else None


def last_costs(store: BaselineStore, platform_id: str,
               cases: Iterable[tuple[str, str]]) -> dict[str, float]:
    """``{case id: seconds}`` for ``(case id, scenario)`` pairs, from the newest baseline entry
    on ``platform_id``; unknown cases get the median known cost (1 s when none is known)."""
    pairs = list(cases)
    known: dict[str, float] = {}
    for scenario in sorted({s for _, s in pairs}):
        try:
            data = store.load(platform_id, scenario) or {}
        except ConfigError:
            data = {}       # a damaged store is reported by the run itself, not here
        for case_id, entries in (data.get("cases") or {}).items():
            cost = entry_cost(entries[-1]) if entries else None
            if cost is not None:
                known[case_id] = cost
    fallback = statistics.median(known.values()) if known else 1.0
    return {cid: known.get(cid, fallback) for cid, _ in pairs}


def units(case_ids: list[str], together: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Groups of case ids that must land in one shard: each A/B pair joins its two cases
    (transitively); every other case is a group of its own. Sorted ids within each group."""
    parent = {cid: cid for cid in case_ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in together:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for cid in parent:
        groups.setdefault(root(cid), []).append(cid)
    return [sorted(g) for g in groups.values()]


def assign(costs: dict[str, float], count: int,
           together: Iterable[tuple[str, str]] = (),
           extra: dict[str, float] | None = None) -> list[list[str]]:
    """The case ids of each of ``count`` shards (index 0 = shard 1/N), by greedy LPT.

    ``extra`` adds seconds to the unit holding a case id (an A/B pair's interleaved phase).
    Ids in ``together`` that are not in ``costs`` (cases outside the selection) are dropped."""
    groups = units(sorted(costs), together)
    extra = extra or {}

    def cost(group: list[str]) -> float:
        return sum(costs.get(c, 0.0) + extra.get(c, 0.0) for c in group)

    order = sorted(groups, key=lambda g: (-cost(g), g[0]))
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for group in order:
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += cost(group)
        shards[target].extend(c for c in group if c in costs)
    return [sorted(s) for s in shards]


def select_shard(plan: Plan, shard: Shard, store: BaselineStore,
                 platform_id: str) -> tuple[Plan, dict[str, Any]]:
    """This shard's part of ``plan`` (its cases and its A/B pairs) and the record for
    ``RunResult.shard``. A skipped case costs nothing; a pair adds its measuring time."""
    from harness.plan import Plan

    planned, pairs = plan.cases, plan.pairs
    costs = last_costs(store, platform_id, [(p.case.id, p.case.scenario) for p in planned])
    costs.update({p.case.id: 0.0 for p in planned if p.case.skip})
    together = [(p.a.id, p.b.id) for p in pairs]
    extra = {p.a.id: float(p.settings.duration_s) for p in pairs}
    mine = set(assign(costs, shard.count, together, extra)[shard.index - 1])
    return (Plan([p for p in planned if p.case.id in mine],
                 [p for p in pairs if p.a.id in mine or p.b.id in mine]),
            shard.record([p.case.id for p in planned if p.case.id in mine]))
