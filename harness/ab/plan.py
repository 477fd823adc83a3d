"""Which pairs an A/B run compares, and running them into a :class:`RunResult`.

Three ways to name the pairs:
- two ad-hoc sides (``trt-harness ab A B``: model sources with per-side backend, precision,
  shapes and options — built by :func:`harness.adhoc.bench_case`);
- the ``[[ab]]`` tables of scenario files (two case ids each);
- a reference tree (``--ref-tree DIR``): every case of a scenario file against the same case
  from the same file in another checkout (main's models and options), i.e. "this change's
  engine vs main's engine, on this GPU, now" — the baseline rebuilt and measured interleaved;
- the stored baseline (``--baseline``): every case of a scenario file against the case its
  newest accepted baseline run recorded (its options, precision, shapes), rebuilt from the same
  model bytes — where those bytes are still at hand (the recorded SHA-256 matches).
"""

from __future__ import annotations

import fnmatch
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.ab import RUN_VERDICTS
from harness.ab.measure import (
    DEFAULT_INSTANCES,
    ABInterrupted,
    ABSettings,
    measure_ab,
)
from harness.ab.processes import measure_processes
from harness.ab.verdict import host_paced, preparations_needed, wants_processes
from harness.ab.verdict import judge as judge_ab
from harness.adhoc import bench_case
from harness.baseline.verdict import DEFAULT_POLICY, VerdictPolicy
from harness.errors import ConfigError
from harness.results import ResultWriter, RunResult
from harness.runner import case_base_dir
from harness.scenario.expand import Case, expand
from harness.scenario.load import load_scenario
from harness.scenario.schema import ScenarioFile
from harness.verdict.records import MetricVerdict, Verdict


@dataclass
class ABPair:
    a: Case
    b: Case
    settings: ABSettings
    base_a: str | None = None
    base_b: str | None = None
    # typed on the command line (ab A B): the user named the code, which is consent
    typed: bool = False


def _cases_by_id(path: str | Path) -> tuple[ScenarioFile, dict[str, Case]]:
    scenario = load_scenario(path)
    return scenario, {c.id: c for c in expand(scenario, str(path))}


def _find(cases: dict[str, Case], scenario: str, ref: str, path: str | Path, key: str) -> Case:
    for cid in (ref, f"{scenario}/{ref}"):
        if cid in cases:
            return cases[cid]
    raise ConfigError(f"no case {ref!r} in this scenario", file=str(path), key=key,
                      expected=", ".join(sorted(cases)))


def scenario_pairs(scenario: ScenarioFile, cases: dict[str, Case], path: str | Path,
                   base: str) -> list[ABPair]:
    """The pairs one scenario file's ``[[ab]]`` tables name, among its expanded ``cases``
    (by id); ``base`` is the file's folder (:func:`harness.plan.load_plan` parses the file)."""
    out = []
    for i, spec in enumerate(scenario.ab):
        a = _find(cases, scenario.name, spec.a, path, f"ab[{i}].a")
        b = _find(cases, scenario.name, spec.b, path, f"ab[{i}].b")
        settings = ABSettings(duration_s=spec.duration, block_s=spec.block,
                              rewarm_s=spec.rewarm, seed=spec.seed,
                              instances=spec.instances or DEFAULT_INSTANCES,
                              max_duration_s=spec.max_duration, max_wall_s=spec.max_wall,
                              redraw=spec.redraw, processes=spec.processes,
                              escalate_processes=spec.escalate_processes,
                              tolerance=dict(spec.tolerance or {}))
        out.append(ABPair(a, b, settings, base, base))
    return out


def ref_tree_pairs(paths: list[str | Path], ref_root: str | Path,
                   settings: ABSettings, select: list[str] | None = None) -> list[ABPair]:
    """Every case of each scenario file (A: as the file is in ``ref_root``, B: as it is here)."""
    out = []
    for path in paths:
        ref_path = Path(ref_root) / path
        if not ref_path.exists():
            raise ConfigError(f"{path} does not exist in the reference tree {ref_root}")
        _, here = _cases_by_id(path)
        _, there = _cases_by_id(ref_path)
        for cid, b in here.items():
            if select and not any(fnmatch.fnmatchcase(cid, s) for s in select):
                continue
            if cid in there and not b.skip:
                out.append(ABPair(there[cid], b, settings, case_base_dir(ref_path),
                                  case_base_dir(path)))
    if not out:
        raise ConfigError("no case is in both trees (check --case and the scenario files)")
    return out


def baseline_pairs(paths: list[str | Path], baselines: str | Path, settings: ABSettings,
                   select: list[str] | None = None) -> tuple[list[ABPair], list[str]]:
    """(pairs, reasons for the cases left out): A is the case as the newest baseline entry on
    this platform recorded it, B the case as the scenario file says now."""
    from harness.baseline.store import BaselineStore
    from harness.models.source import model_digest, resolve_source
    from harness.platform import platform_id

    store, pid = BaselineStore(baselines), platform_id()
    pairs, left_out = [], []
    for path in paths:
        scenario, here = _cases_by_id(path)
        base = case_base_dir(path)
        data = store.load(pid, scenario.name) or {"cases": {}}
        for cid, b in here.items():
            if b.skip or (select and not any(fnmatch.fnmatchcase(cid, s) for s in select)):
                continue
            history = data["cases"].get(cid)
            if not history:
                left_out.append(f"{cid}: no baseline on this platform ({pid})")
                continue
            spec = history[-1]["case"]
            a = replace(Case.from_json(spec), id=f"baseline:{cid}")
            want = spec.get("model_sha256")
            try:
                got = model_digest(resolve_source(a.source, base, a.seed))
            except (ConfigError, OSError) as exc:
                left_out.append(f"{cid}: the baseline's model {a.source!r} is not at hand: {exc}")
                continue
            if want != got:
                left_out.append(f"{cid}: the baseline's model is not at hand: {a.source} is "
                                f"now {str(got)[:12]}, the baseline ran {str(want)[:12]}")
                continue
            pairs.append(ABPair(a, b, settings, base, base))
    return pairs, left_out


def side_case(case: Case, label: str) -> Case:
    """Ad-hoc sides get distinct ids even when both measure the same model."""
    return replace(case, id=f"{label}:{case.id}")


def run_pairs(pairs: list[ABPair], run: RunResult, writer: ResultWriter | None = None,
              policy: VerdictPolicy = DEFAULT_POLICY) -> list[dict[str, Any]]:
    """Measure every pair (the record is flushed after each) and judge them together. On
    Ctrl-C the pairs measured so far are judged all the same, and the one in progress is kept
    as measured (status "interrupted")."""
    records: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []

    def keep(record: dict[str, Any]) -> None:
        # an interleaved record an escalation goes on from: written now, replaced by the
        # record that nests it
        kept.append(record)
        _place(records, run, writer, [record])

    try:
        for pair in pairs:
            kept.clear()
            try:
                done = [measure_pair(pair, policy, keep)]
            except ABInterrupted as exc:
                _place(records, run, None, exc.records, replace_last=bool(kept))
                raise
            _place(records, run, writer, done, replace_last=bool(kept))
    finally:
        judge_ab(records, policy)
    return records


def _place(records: list[dict[str, Any]], run: RunResult, writer: ResultWriter | None,
           new: list[dict[str, Any]], replace_last: bool = False) -> None:
    if replace_last:
        del records[-1], run.ab[-1]
    records.extend(new)
    run.ab.extend(new)
    if writer is not None:
        writer.flush()


def measure_pair(pair: ABPair, policy: VerdictPolicy = DEFAULT_POLICY,
                 keep: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """One pair's record as ``ab`` measures it: interleaved in this process (or in
    ``settings.processes`` fresh ones), extended while undecided; an interleaved comparison
    its preparations' spread left undecided goes on in ``settings.escalate_processes``
    processes a side (:func:`escalation`), and ``keep`` is handed it before that starts, so
    nothing measured is lost if the processes fail."""
    settings = pair.settings
    extend = functools.partial(settle, policy=policy)
    if settings.processes:
        return measure_processes(pair.a, pair.b, settings, pair.base_a, pair.base_b,
                                 extend=extend)
    t0 = time.perf_counter()
    record = measure_ab(pair.a, pair.b, settings, pair.base_a, pair.base_b, extend=extend)
    then = escalation(record, settings, time.perf_counter() - t0, policy)
    if then is None:
        return record
    if keep is not None:
        keep(record)
    return measure_processes(pair.a, pair.b, then, pair.base_a, pair.base_b, extend=extend,
                             interleaved=record)


def escalation(record: dict[str, Any], settings: ABSettings, wall_s: float,
               policy: VerdictPolicy = DEFAULT_POLICY) -> ABSettings | None:
    """The settings of the process-paired comparison an interleaved one goes on to, or None:
    none asked for or defaulted to on its timer (:meth:`ABSettings.escalate_for`), no
    extension allowed (``max_duration_s`` 0), ``max_wall_s`` spent in the ``wall_s`` it
    took, or its verdict (judged alone, as an extension is sized) not one processes at the
    same layouts could settle (:func:`harness.ab.verdict.wants_processes`). What
    ``max_wall_s`` leaves caps the processes' extension (their first look always runs, as
    an interleaved one's)."""
    n = settings.escalate_for((record.get("timing") or {}).get("timer"))
    if not n or not settings.max_duration_s or record.get("status") != "ok":
        return None
    left = settings.max_wall_s - wall_s if settings.max_wall_s else 0.0
    if settings.max_wall_s and left <= 0:
        return None
    [v] = judge_ab([record], policy)
    if not wants_processes(v):
        return None
    # the count it went on with is recorded, whether asked for or the timer's default
    return replace(settings, processes=n, escalate_processes=n, max_wall_s=left)


def settle(record: dict[str, Any], policy: VerdictPolicy = DEFAULT_POLICY) -> int:
    """Preparations (a process-paired comparison: processes) per side to add to an undecided
    comparison (0: it is decided, or more cannot settle it). Judged alone here; the run
    judges all its comparisons together."""
    [v] = judge_ab([record], policy)
    if v.status != "undecided" or host_paced(v):
        # Host-paced sides (enqueue-bound): more layouts target the layout term, and their
        # noise is the host's drift. Interleaving saw nothing below gross changes on the
        # H100's eager resnet50 (tuning; MDC 17-28 %); on the H200's eager resnet18
        # (reporting) 6 of 6 comparisons were as undecided after 30 s of extension as after
        # their first look (intervals ±3-6 % against ±3-9 %), for 60 s more each.
        return 0
    med = v.metrics.get("median") or MetricVerdict()
    # sized for the look the extended comparison will decide at, not the one just made
    need = preparations_needed(med, policy, look=int(med.get("looks") or 1) + 1)
    have = int(med.get("processes") or med.get("instances") or 1)
    return max(0, need - have) if need else 0


def ab_exit_verdicts(records: list[dict[str, Any]]) -> list[Verdict]:
    """A/B verdicts in the run's vocabulary (slower = regression) for the exit code."""
    statuses = [Verdict.read(r["verdict"]).status if r.get("verdict") else "failed"
                for r in records]
    return [Verdict(RUN_VERDICTS.get(s, s)) for s in statuses]


def adhoc_pair(sources: tuple[str, str], sides: tuple[dict[str, Any], dict[str, Any]],
               settings: ABSettings) -> ABPair:
    """Two ad-hoc sides: each a model source with its own backend, precision, shapes,
    options and injected delay (keyword arguments of :func:`harness.adhoc.bench_case`)."""
    cases = [side_case(bench_case(src, **kw), label)
             for label, src, kw in zip("AB", sources, sides, strict=True)]
    cwd = str(Path.cwd())
    return ABPair(cases[0], cases[1], settings, cwd, cwd, typed=True)
