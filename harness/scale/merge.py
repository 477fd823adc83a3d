"""Merge: several runs' results (shards, platforms, hosts) into one run, judged again per
platform against that platform's baselines (``trt-harness merge R1.json R2.json … --out DIR``).

What is refused (:class:`ConfigError`, exit 2), naming the files: the same case of one platform
in two different runs; a missing shard (the shard records say i/N and not every i is there);
shard records of one platform that disagree on N; runs of different scenario sets, unless
``allow_mixed``. What is named and fails the merge (exit 1) while everything measured is kept:
an incomplete run (``complete: false``), and the cases its shard record lists that it lacks.
The same run given twice (``results.json`` and its ``runs/<run id>.json``) is read once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness import api
from harness.baseline.store import BaselineStore
from harness.baseline.verdict import DEFAULT_POLICY, FAILING, VerdictPolicy
from harness.errors import ConfigError
from harness.fsutil import atomic_write_json
from harness.results import ResultWriter, RunResult, load_results, new_run_id, now_iso
from harness.scale.platforms import case_platform, history_by_platform, split_by_platform


@dataclass
class MergeOutcome(api.RunOutcome):
    notes: list[str] = field(default_factory=list)        # files read once, and why
    platforms: list[str] = field(default_factory=list)    # judged apart, each on its own


@dataclass
class Source:
    path: str
    run: RunResult

    def describe(self) -> str:
        s = self.run.shard
        return f"{self.path} (run {self.run.run_id}" + \
            (f", shard {s['index']}/{s['count']})" if s else ")")


def read_sources(paths: list[str | Path]) -> tuple[list[Source], list[str]]:
    """The runs to merge, each once, and notes on files that repeat a run already read."""
    sources: list[Source] = []
    notes: list[str] = []
    for p in paths:
        run = load_results(p)
        same = next((s for s in sources if s.run.run_id == run.run_id
                     and s.run.platform_id == run.platform_id), None)
        if same is not None:
            notes.append(f"{p} is the same run as {same.path} ({run.run_id}): read once")
            continue
        sources.append(Source(str(p), run))
    return sources, notes


def check_scenarios(sources: list[Source], allow_mixed: bool) -> None:
    sets: dict[tuple[str, ...], list[str]] = {}
    for s in sources:
        sets.setdefault(tuple(sorted(x["name"] for x in s.run.scenarios)), []).append(s.path)
    if len(sets) > 1 and not allow_mixed:
        listed = "; ".join(f"{', '.join(k) or '(none)'}: {', '.join(v)}" for k, v in sets.items())
        raise ConfigError(f"the runs measured different scenario sets ({listed}); merge runs of "
                          "one matrix, or pass --allow-mixed", key="results")


def check_duplicates(sources: list[Source]) -> None:
    seen: dict[tuple[str, str], Source] = {}
    clashes: list[str] = []
    for s in sources:
        for c in s.run.cases:
            key = (case_platform(s.run, c), c.id)
            if key in seen:
                clashes.append(f"{c.id} on {key[0]} in {seen[key].describe()} and "
                               f"{s.describe()}")
            else:
                seen[key] = s
    if clashes:
        raise ConfigError(f"{len(clashes)} case(s) measured twice: " + "; ".join(clashes[:5])
                          + (f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else "")
                          + "; merge one run of each case", key="results")


def check_shards(sources: list[Source]) -> list[str]:
    """Missing shards are an error; incomplete runs and the cases they lack are returned."""
    groups: dict[tuple[str, tuple[str, ...]], list[Source]] = {}
    for s in sources:
        if s.run.shard:
            names = tuple(sorted(x["name"] for x in s.run.scenarios))
            groups.setdefault((s.run.platform_id, names), []).append(s)
    for (platform, _), group in groups.items():
        counts = {s.run.shard["count"] for s in group}
        if len(counts) > 1:
            raise ConfigError(f"shards of {platform} disagree on N: "
                              + ", ".join(s.describe() for s in group), key="results")
        [count] = counts
        missing = sorted(set(range(1, count + 1)) - {s.run.shard["index"] for s in group})
        if missing:
            raise ConfigError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} of "
                              f"{platform} missing (given: "
                              + ", ".join(s.describe() for s in group) + ")", key="results")
    problems = []
    for s in sources:
        if not s.run.complete:
            have = {c.id for c in s.run.cases}
            lacking = [c for c in (s.run.shard or {}).get("case_ids", []) if c not in have]
            problems.append(f"{s.describe()} is incomplete (complete: false)"
                            + (f"; {len(lacking)} of its cases have no result: "
                               f"{', '.join(lacking[:5])}" if lacking else ""))
    return problems


def merged_run(sources: list[Source], command: list[str] | None) -> RunResult:
    """One run holding every source's cases and A/B records; a case from another platform
    than the first source's carries its platform (``CaseResult.platform_id``)."""
    base = sources[0].run
    scenarios = sorted({x["name"] for s in sources for x in s.run.scenarios})
    shas = {(s.run.commit or {}).get("sha") for s in sources}
    run = RunResult(run_id=new_run_id(), started=min(s.run.started for s in sources),
                    platform=base.platform, platform_id=base.platform_id,
                    scenarios=[{"name": n} for n in scenarios], command=command or [],
                    commit=base.commit if len(shas) == 1 else None,
                    startup_s=dict(base.startup_s))
    for s in sources:
        for c in s.run.cases:
            pid = case_platform(s.run, c)
            if pid != run.platform_id:
                c.platform_id, c.platform = pid, c.platform or s.run.platform
            else:
                c.platform_id = c.platform = None
            c.verdict = None        # judged again, against the store, below
            run.cases.append(c)
        run.ab.extend(s.run.ab)
        run.merged_from.append({
            "file": s.path, "run_id": s.run.run_id, "platform_id": s.run.platform_id,
            "shard": ({k: s.run.shard[k] for k in ("index", "count")} if s.run.shard
                      else None),
            "complete": s.run.complete, "cases": len(s.run.cases),
            "commit": (s.run.commit or {}).get("sha")})
    finished = [s.run.finished for s in sources]
    run.complete = all(s.run.complete for s in sources)
    run.finished = max(f for f in finished if f) if all(finished) else None
    return run


def merge(paths: list[str | Path], out_dir: str | Path = "reports",
          baselines: str | Path = "baselines", *, policy: VerdictPolicy = DEFAULT_POLICY,
          fail_on: tuple[str, ...] = FAILING, allow_mixed: bool = False,
          command: list[str] | None = None) -> api.RunOutcome:
    """Merge result files into ``out_dir`` (``results.json``, ``runs/<run id>.json``, report,
    ``summary.md``, ``junit.xml``; with several platforms also ``platforms/<id>.json``, one
    acceptable run per platform); exit code as for :func:`harness.api.run`."""
    if not paths:
        raise ConfigError("no results file given", key="results")
    sources, notes = read_sources(paths)
    check_scenarios(sources, allow_mixed)
    check_duplicates(sources)
    problems = check_shards(sources)
    run = merged_run(sources, command)
    run.finished = run.finished or now_iso()
    store = BaselineStore(baselines)
    api._guarded(problems, "judging against the baselines", lambda: api.judge(run, store, policy))
    out = Path(out_dir)
    writer = ResultWriter(run, out / "runs" / f"{run.run_id}.json")
    writer.flush()
    parts = split_by_platform(run)
    if len(parts) > 1:
        for part in parts:
            atomic_write_json(out / "platforms" / f"{part.platform_id}.json", part.to_json())
    done = api.publish(run, writer, out, "results.json", lambda: history_by_platform(run, store),
                       problems, title=f"trt-harness merge of {len(sources)} run(s)")
    return MergeOutcome(run, done.results, done.reports.html if done.reports else None,
                        api.run_exit_code(run, policy, fail_on, done.problems), done.reports,
                        done.problems,
                        notes, [p.platform_id for p in parts])
