"""The Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.adhoc import bench_case as bench_case  # part of the API: the case `bench` runs
from harness.baseline.layout_count import plan_layouts
from harness.baseline.store import BaselineStore
from harness.baseline.verdict import (
    DEFAULT_POLICY,
    EXIT_FAILED,
    FAILING,
    VerdictPolicy,
    compare_case,
    evaluate_case,
    exit_code,
    finalize,
    verdict,
)
from harness.commit import commit_info
from harness.errors import ConfigError, Interrupted
from harness.fsutil import atomic_write_json
from harness.metrics import CASE_FIGURES, METRICS
from harness.pipeline.gates import apply_gates, case_gates
from harness.plan import Plan, load_plan
from harness.platform import fingerprint, platform_id
from harness.report.outputs import ReportPaths, baseline_history, write_reports
from harness.results import ResultWriter, RunResult, load_results, new_run_id, now_iso
from harness.runner import PlannedCase, Progress, run_cases
from harness.scale.platforms import history_by_platform, split_by_platform
from harness.scenario.expand import Case

if TYPE_CHECKING:
    from harness.scale.dask_executor import DaskExecutor as Executor
    from harness.scale.shard import Shard


def plan(paths: list[str | Path], select: list[str] | None = None) -> list[PlannedCase]:
    """Load, validate and expand scenario files (all checked before anything runs): the
    cases; :func:`harness.plan.load_plan` gives their ``[[ab]]`` pairs too."""
    return load_plan(paths, select).cases


def apply_injections(planned: list[PlannedCase], injections: list[str]) -> list[PlannedCase]:
    """``PATTERN=DELAY`` (or a bare DELAY for every case): a busy-wait added inside the timed
    region, the deliberate slowdown that proves a verdict fires."""
    from harness.units import parse_duration

    rules = []
    for text in injections:
        pattern, _, delay = text.rpartition("=")
        try:
            rules.append((pattern or "*", parse_duration(delay)))
        except ValueError as exc:
            raise ConfigError(f"--inject-delay {text!r}: {exc}") from None
        if not any(fnmatch.fnmatchcase(p.case.id, rules[-1][0]) for p in planned):
            raise ConfigError(f"{text!r}: the glob {rules[-1][0]!r} matches no case",
                              key="--inject-delay", expected="[GLOB=]DELAY with a glob over "
                              "case ids (see 'trt-harness list')")
    out = []
    for p in planned:
        for pattern, delay in rules:
            if fnmatch.fnmatchcase(p.case.id, pattern):
                p = PlannedCase(replace(p.case, inject_delay=delay), p.base_dir)
        out.append(p)
    return out


# CI-sized measuring: enough samples to exercise every path, not to resolve 1 % changes.
QUICK_WARMUP = {"min_time": 0.02, "max_time": 0.2, "min_iterations": 2}
QUICK_STOP = {"min_time": 0.0, "max_time": 0.25, "min_samples": 5, "rel_ci": 0.05}


def apply_quick(planned: list[PlannedCase]) -> list[PlannedCase]:
    """``--quick``: cap every case's warm-up and stopping rule (CI smoke runs)."""
    return [PlannedCase(replace(p.case, warmup=p.case.warmup.model_copy(update=QUICK_WARMUP),
                                stop=p.case.stop.model_copy(update=QUICK_STOP)), p.base_dir)
            for p in planned]


@dataclass
class RunOutcome:
    run: RunResult
    results_path: Path
    report_path: Path | None
    exit_code: int
    reports: ReportPaths | None = None
    # What went wrong after measuring (judging, writing the report): the measurements were
    # kept and written first; the exit code is then non-zero.
    problems: list[str] = field(default_factory=list)


@dataclass
class Published:
    """Where a run's outputs went, and what could not be written."""

    results: Path
    reports: ReportPaths | None
    problems: list[str]


def publish(run_: RunResult, writer: ResultWriter, out: Path, results_name: str,
            history: Callable[[], dict[str, list[dict[str, Any]]]] | None = None,
            problems: list[str] | None = None, **report_args: Any) -> Published:
    """Write what was measured: the results file first (it is what CI accepts), then the
    report, summary and JUnit. A failure in one never discards the other; it is reported."""
    from harness.scale.platforms import labelled

    problems = list(problems or [])
    results = out / results_name
    newer = _newer_run_in(results, run_)
    if newer and writer.path is not None:
        # Two runs into one folder: results.json (and the report) stay the newest run's;
        # this one's outputs go beside its run file, runs/<run id>.json.
        print(f"note: {results} holds a newer run ({newer}); this run's report goes to "
              f"{writer.path.with_suffix('')}/", file=sys.stderr)
        out, results = writer.path.with_suffix(""), writer.path
    try:
        atomic_write_json(results, run_.to_json())
    except (OSError, ConfigError) as exc:
        problems.append(f"could not write {results}: {exc}; the run file {writer.path} holds "
                        "the measurements")
        results = writer.path or results
    reports = None
    try:
        shown, shown_history = labelled(run_, history() if history else None)
        reports = write_reports(shown, out, shown_history, **report_args)
    except Exception as exc:  # whatever broke, the measurements stand
        problems.append(f"could not write the report: {type(exc).__name__}: {exc}")
    return Published(results, reports, problems)


def _newer_run_in(path: Path, run_: RunResult) -> str | None:
    """The run id in an existing results file when that run started after ``run_``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        other, started = data.get("run_id"), data.get("started")
    except (OSError, ValueError, AttributeError):
        return None
    return other if isinstance(started, str) and other != run_.run_id and \
        started > run_.started else None


def _guarded(problems: list[str], what: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception as exc:  # reported; the measurements are kept
        problems.append(f"{what} failed: {type(exc).__name__}: {exc}")


def new_run(scenario_files: list[dict[str, str]], command: list[str] | None = None,
            where: str | Path | None = None) -> RunResult:
    """An empty run record; ``where`` (a scenario file or folder, default the working
    directory) is the git checkout whose commit the run measures."""
    return RunResult(run_id=new_run_id(), started=now_iso(), platform=fingerprint(),
                     platform_id=platform_id(), scenarios=scenario_files,
                     command=command or [], commit=commit_info(where))


def run(paths: list[str | Path], *, out_dir: str | Path = "reports",
        baselines: str | Path = "baselines", select: list[str] | None = None,
        inject: list[str] | None = None, progress: Progress | None = None,
        fail_on: tuple[str, ...] = FAILING, command: list[str] | None = None,
        policy: VerdictPolicy = DEFAULT_POLICY, quick: bool = False,
        shard: Shard | None = None, executor: Executor | None = None,
        layout_seed: int | None = None) -> RunOutcome:
    """Run scenario files end to end: measure, judge against baselines, write the report.

    ``shard`` runs only that part of the matrix (:mod:`harness.scale.shard`); ``executor``
    runs the cases elsewhere (:class:`harness.scale.dask_executor.DaskExecutor`); default: one
    at a time in this process. ``layout_seed`` draws every case's memory layouts from it
    (``Case.layout_seed``) instead of at random."""
    from harness.ab.plan import run_pairs
    from harness.consent import check_case

    chosen = load_plan(paths, select)
    planned = apply_injections(chosen.cases, inject or [])
    for p in planned:       # code a scenario names runs only with consent (harness.consent)
        check_case(p.case, p.base_dir)
    if quick:
        planned = apply_quick(planned)
    ab_pairs = chosen.pairs
    out = Path(out_dir)
    scenarios = sorted({p.case.scenario for p in planned})
    run_ = new_run([{"name": s} for s in scenarios], command, where=paths[0] if paths else None)
    store = BaselineStore(baselines)
    store.check(run_.platform_id, scenarios)
    if shard is not None:
        from harness.scale.shard import select_shard

        mine, run_.shard = select_shard(Plan(planned, ab_pairs), shard, store,
                                        run_.platform_id)
        planned, ab_pairs = mine.cases, mine.pairs
    planned = plan_layouts(planned, store, run_.platform_id)
    if layout_seed is not None:
        planned = [PlannedCase(replace(p.case, layout_seed=layout_seed), p.base_dir)
                   for p in planned]
    writer = ResultWriter(run_, out / "runs" / f"{run_.run_id}.json")
    writer.flush()
    problems: list[str] = []
    measure_cases = executor.run_cases if executor is not None else run_cases
    interrupted = _measure(problems, lambda: (measure_cases(planned, writer, progress),
                                              run_pairs(ab_pairs, run_, writer, policy)))
    measured_all = interrupted is None and not problems
    _guarded(problems, "judging against the baselines", lambda: judge(run_, store, policy))
    _guarded(problems, "writing the run file", writer.finish if measured_all else writer.flush)
    done = publish(run_, writer, out, "results.json", lambda: history_by_platform(run_, store),
                   problems)
    if interrupted is not None:
        raise Interrupted(done.results) from interrupted
    return RunOutcome(run_, done.results, done.reports.html if done.reports else None,
                      run_exit_code(run_, policy, fail_on, done.problems), done.reports,
                      done.problems)


def run_exit_code(run_: RunResult, policy: VerdictPolicy, fail_on: tuple[str, ...],
                  problems: list[str]) -> int:
    """The exit code of a run, an A/B run or a merge, from its cases' and comparisons'
    verdicts (:func:`harness.baseline.verdict.exit_code`); a failure after measuring
    (``problems``) is never 0, and nothing measured at all is "undecided" (3), for ``ab``
    and ``merge`` as for ``run``."""
    from harness.ab.plan import ab_exit_verdicts

    verdicts = [c.verdict for c in run_.cases if c.verdict] + ab_exit_verdicts(run_.ab)
    if nothing_measured(run_):
        # e.g. a GPU scenario on a runner without a GPU: every case skipped is not a pass
        verdicts.append(verdict("undecided", "nothing was measured"))
    code = exit_code(verdicts, policy.fail_on(fail_on), policy.allow_undecided)
    # a failure after measuring (a missing shard, a full disk) is a failure, whatever the
    # verdicts of what did get measured
    return EXIT_FAILED if problems else code


def nothing_measured(run_: RunResult) -> bool:
    """True when the run has cases or comparisons and not one of them was measured or built
    (all skipped): CI must not read that as a pass."""
    items = [c.status for c in run_.cases] + [r.get("status") for r in run_.ab]
    return bool(items) and all(s == "skipped" for s in items)


def _measure(problems: list[str], step: Callable[[], object]) -> KeyboardInterrupt | None:
    """Run the measuring ``step``; Ctrl-C or a failure (a full disk) ends it, and what was
    measured until then is published all the same."""
    try:
        step()
    except KeyboardInterrupt as exc:
        return exc
    except Exception as exc:  # reported; the measurements are kept
        problems.append(f"measuring stopped: {type(exc).__name__}: {exc}")
    return None


def judge(run_: RunResult, store: BaselineStore, policy: VerdictPolicy = DEFAULT_POLICY) -> None:
    """Attach a verdict to every case of ``run_``; the false-alarm budget is shared by the
    whole matrix (docs/verdicts.md). Cases measured on another platform than the run's
    (``CaseResult.platform_id``) are judged per platform, each against its own baselines."""
    import dataclasses

    parts = split_by_platform(run_)
    if len(parts) > 1:
        for part in parts:
            judge(part, store, policy)
        return
    for c in run_.cases:
        entries, diffs = store.entries(run_, c)
        if diffs:
            c.verdict = verdict("incomparable", "platform differs from the baseline's: "
                                + "; ".join(diffs))
            continue
        # the result as the judges read it: plain data, without a verdict judged before
        current = dataclasses.asdict(dataclasses.replace(c, verdict=None))
        current["precision"] = c.precision
        c.verdict = evaluate_case(current, entries, c.case.get("tolerance"), policy)
    decided = finalize([c.verdict for c in run_.cases], policy)
    for c, v in zip(run_.cases, decided, strict=True):
        # SLOs and the accuracy delta are absolute gates beside the baseline comparison.
        v = apply_gates(v, case_gates(c))
        tel = c.telemetry or {}
        if tel.get("unstable") and v.status in ("pass", "regression", "improvement"):
            # measured under a clock slowdown: the figure is kept, but it is not judged
            v = verdict("unstable", f"{tel['flagged_share']:.1%} of the measured time under a "
                        "power/thermal/hardware clock slowdown; would have been "
                        f"'{v.status}': {v.reason}", would_be=v.status)
        c.verdict = v


def accept(results: str | Path | list[str | Path], baselines: str | Path = "baselines",
           cases: list[str] | None = None, keep: int | None = None,
           replace: bool = False, force: bool = False) -> list[Path]:
    """Accept one or several result files (oldest first by start time) as baselines.

    Refused unless ``force``: a run with failed cases or an injected delay (a deliberate
    slowdown must never become the reference)."""
    from harness.baseline.store import DEFAULT_KEEP

    paths = results if isinstance(results, list) else [results]
    runs = [load_results(p) for p in paths]
    for p, r in zip(paths, runs, strict=True):
        if not r.complete and not cases:
            raise ConfigError(f"{p}: the run did not complete; accept a complete run "
                              "(or name its measured cases with --case)")
        others = sorted({c.platform_id for c in r.cases
                         if c.platform_id and c.platform_id != r.platform_id})
        if others:
            # a merge of several platforms: its cases must not be filed under one of them
            raise ConfigError(f"{p}: holds cases measured on other platforms ({', '.join(others)}"
                              f" besides {r.platform_id}); accept the per-platform files that "
                              "`trt-harness merge` wrote under platforms/ instead")
        why = [] if force else _not_acceptable(r, cases)
        if why:
            raise ConfigError(f"{p}: not accepted as a baseline: {'; '.join(why)} (accept "
                              "with --force if this is meant)")
    store = BaselineStore(baselines)
    written: list[Path] = []
    for i, r in enumerate(sorted(runs, key=lambda r: r.started)):
        # A file given twice (or two runs at once) must not erase the other's entries.
        written += [p for p in store.accept(r, keep or DEFAULT_KEEP, cases,
                                            replace=replace and i == 0) if p not in written]
    return written


def _not_acceptable(run_: RunResult, cases: list[str] | None) -> list[str]:
    chosen = [c for c in run_.cases
              if cases is None or any(fnmatch.fnmatchcase(c.id, g) for g in cases)]
    failed = [c.id for c in chosen if c.status in ("failed", "interrupted")]
    delayed = [c.id for c in chosen if (c.case.get("inject_delay") or 0) > 0
               or ((c.timing or {}).get("inject_delay_s") or 0) > 0]
    return ([f"{len(failed)} case(s) failed ({', '.join(failed[:3])})"] if failed else []) + \
        ([f"{len(delayed)} case(s) ran with an injected delay ({', '.join(delayed[:3])})"]
         if delayed else [])


def list_cases(paths: list[str | Path], select: list[str] | None = None) -> list[Case]:
    return [p.case for p in plan(paths, select)]


def report(results: str | Path | list[str | Path], out: str | Path,
           baselines: str | Path = "baselines") -> Path:
    """Render stored results again. One file: with its stored verdicts and the baseline
    store's history. Several: the last is judged against the earlier ones directly (A vs B).
    ``out`` is a folder or an ``.html`` file; summary.md and junit.xml are written beside."""
    from harness.report.compare import compare_runs

    paths = [results] if isinstance(results, str | Path) else list(results)
    if not paths:
        raise ConfigError("no results file given")
    runs = [load_results(p) for p in paths]
    out = Path(out)
    folder, name = (out.parent, out.name) if out.suffix == ".html" else (out, "index.html")
    if len(runs) == 1:
        run_, history, title = runs[0], baseline_history(runs[0], BaselineStore(baselines)), None
    else:
        run_, history = compare_runs(runs[:-1], runs[-1])
        title = (f"trt-harness: {Path(paths[-1]).name} vs "
                 f"{', '.join(Path(p).name for p in paths[:-1])}")
    return write_reports(run_, folder, history, html_name=name, title=title).html


# The figures of a console summary row, by their keys in harness.metrics (median_ms, ...).
SUMMARY_FIGURES = ("median", "p99", "throughput", "n")


def summary_rows(run_: RunResult) -> list[dict[str, Any]]:
    """One row per case for the console table: the figures under their
    :attr:`~harness.metrics.Metric.key` (``median_ms``, ``p99_ms``, ``throughput``, ``n``),
    ``ci_ms`` the median's interval, the verdict and its reason."""
    rows = []
    for c in run_.cases:
        f = c.figures()
        rows.append({"case": c.id, "status": c.status,
                     **{METRICS[m].key: f.get(m) for m in SUMMARY_FIGURES},
                     "ci_ms": (f.get("median_ci_low"), f.get("median_ci_high")),
                     "verdict": c.verdict.status if c.verdict else None,
                     "reason": (c.verdict.reason if c.verdict else None) or c.error})
    return rows


def _column(metric: str) -> str:
    return METRICS[metric].key


FRAME_COLUMNS = ("id", "scenario", "model", "backend", "precision", "batch", "status",
                 *map(_column, CASE_FIGURES), "verdict", "change", "platform_id", "commit")


def results_frame(results: str | Path | RunResult) -> Any:
    """A run's cases as a pandas DataFrame, one row per case (for notebooks and CSV):
    :data:`FRAME_COLUMNS`; times in ms, ``throughput`` in items/s, ``change`` the verdict's
    relative change against the baseline (0.05 = 5 % slower), ``commit`` the measured sha.
    Figures a case does not have (a failed or build-only case) are missing (NaN / None)."""
    import pandas as pd

    run_ = results if isinstance(results, RunResult) else load_results(results)
    sha = (run_.commit or {}).get("sha")
    rows = []
    for c in run_.cases:
        spec, v, figures = c.case or {}, c.verdict, c.figures()
        rows.append({
            "id": c.id, "scenario": spec.get("scenario"), "model": spec.get("model"),
            "backend": (c.backend or {}).get("name") or spec.get("backend"),
            "precision": c.precision, "batch": spec.get("batch"), "status": c.status,
            **{_column(m): figures.get(m) for m in CASE_FIGURES},
            "verdict": v.status if v else None, "change": v.change if v else None,
            "platform_id": run_.platform_id, "commit": sha})
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    floats = [*map(_column, CASE_FIGURES), "change"]
    frame[floats] = frame[floats].astype(float)
    frame["batch"] = frame["batch"].astype("Int64")
    return frame


def bench(case: Case, json_out: str | Path | None = None,
          command: list[str] | None = None) -> RunResult:
    run_ = new_run([{"name": "bench"}], command)
    writer = ResultWriter(run_, json_out)
    writer.flush()          # an unusable --json path is refused before measuring
    run_cases([PlannedCase(case, str(Path.cwd()))], writer)
    for c in run_.cases:
        c.verdict = compare_case({"status": c.status, "error": c.error}, [], 0.0) \
            if c.status != "ok" else verdict("new", "one-shot bench: no baseline compared")
    writer.finish()
    return run_


def ab(pairs: list[Any], *, out_dir: str | Path = "reports", policy: VerdictPolicy = DEFAULT_POLICY,
       fail_on: tuple[str, ...] = FAILING, command: list[str] | None = None) -> RunOutcome:
    """Measure A/B pairs (:mod:`harness.ab.plan`) interleaved; write ``ab-results.json`` and
    ``ab.html`` in ``out_dir``. Exit code as for :func:`run` (B slower = regression)."""
    from harness.ab.plan import run_pairs
    from harness.consent import check_case

    for p in pairs:         # a scenario's [[ab]] cases load code only with consent, as in run
        for case, base in ((p.a, p.base_a), (p.b, p.base_b)):
            if not p.typed:
                check_case(case, base)
    out = Path(out_dir)
    scenarios = sorted({p.b.scenario for p in pairs})
    run_ = new_run([{"name": s} for s in scenarios], command)
    writer = ResultWriter(run_, out / "runs" / f"{run_.run_id}.json")
    writer.flush()
    problems: list[str] = []
    interrupted = _measure(problems, lambda: run_pairs(pairs, run_, writer, policy))
    measured_all = interrupted is None and not problems
    _guarded(problems, "writing the run file", writer.finish if measured_all else writer.flush)
    done = publish(run_, writer, out, "ab-results.json", None, problems, html_name="ab.html",
                   title=f"A/B {run_.run_id}")
    if interrupted is not None:
        raise Interrupted(done.results) from interrupted
    return RunOutcome(run_, done.results, done.reports.html if done.reports else None,
                      run_exit_code(run_, policy, fail_on, done.problems), done.reports,
                      done.problems)


def selftest(quick: bool = False, trials: int = 10, json_path: str | Path | None = None
             ) -> dict[str, Any]:
    """Measure the instrument on this GPU (see :mod:`harness.selftest`)."""
    from harness import gpu
    from harness.errors import BackendUnavailable
    from harness.fsutil import atomic_write_json
    from harness.selftest import run_selftest

    reason = gpu.unavailable_reason()
    if reason:
        raise BackendUnavailable(f"selftest needs a CUDA GPU: {reason}")
    report_ = run_selftest(quick=quick, trials=trials)
    if json_path:
        atomic_write_json(Path(json_path), report_)
    return report_


# NVTX filter for ncu: only kernels launched inside the harness's measure ranges.
NCU_NVTX_FILTER = "harness@measure/"


def profile_command(tool: str, scenarios: list[str], output: str | Path,
                    run_args: list[str], capture: str | None = None,
                    case_id: str | None = None, run_id: str | None = None) -> list[str]:
    """The command line that runs ``trt-harness run`` under ``nsys`` or ``ncu``; a clear
    error when the tool is not on PATH (nsys is often absent where ncu is present).

    ``output`` is a folder: the report is named after the run (``<scenarios>-<run id>``; the
    run records the same id, handed over in ``TRT_HARNESS_RUN_ID``). ``capture`` limits what is
    recorded to one kind of harness range (``measure``, ``warmup``, ...; nsys: its NVTX capture
    range; ncu: its NVTX filter, ``measure`` by default) and ``case_id`` to one case's."""
    import shutil
    import sys

    from harness import markers
    from harness.errors import BackendUnavailable
    from harness.results import RUN_ID_ENV

    exe = shutil.which(tool)
    if exe is None:
        other = "ncu" if tool == "nsys" else "nsys"
        hint = f"; {other} is on PATH: try --tool {other}" if shutil.which(other) else ""
        raise BackendUnavailable(f"{tool} is not on PATH: install Nsight "
                                 f"{'Systems' if tool == 'nsys' else 'Compute'} or add it to "
                                 f"PATH{hint}")
    if not markers.available():
        raise BackendUnavailable("the nvtx package is not installed: the profile would have no "
                                 "harness ranges (pip install nvtx)")
    if capture is not None and capture not in markers.CAPTURABLE:
        raise ConfigError(f"--capture {capture!r}: one of {', '.join(markers.CAPTURABLE)}")
    run_id = run_id or new_run_id()
    path = Path(output) / profile_name(scenarios, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    inner = [shutil.which("env") or "/usr/bin/env", f"{RUN_ID_ENV}={run_id}", sys.executable,
             "-m", "harness", "run", *scenarios, "--quiet", *run_args]
    if tool == "nsys":
        limit: list[str] = []
        if case_id is not None:
            # nsys matches one range's message, not a nesting: the case's whole range
            if capture is not None:
                raise ConfigError("nsys captures either one case (--capture-case) or one kind "
                                  "of range (--capture), not a range inside a case: use "
                                  "--tool ncu, or --capture with --run-args --case ID")
            limit = ["--capture-range=nvtx",
                     f"--nvtx-capture={markers.nsys_capture(markers.case_message(case_id))}"]
        elif capture is not None:
            limit = ["--capture-range=nvtx", f"--nvtx-capture={markers.nsys_capture(capture)}"]
        if limit:
            # every matching range, not only the first; messages the nvtx package does not
            # register must be matched too
            limit += ["--capture-range-end=repeat",
                      "--env-var=NSYS_NVTX_PROFILER_REGISTER_ONLY=0"]
        return [exe, "profile", "--trace=cuda,nvtx,osrt", "--force-overwrite=true", *limit,
                "-o", str(path), *inner]
    nvtx_filter = markers.ncu_filter(case_id, capture or "measure")
    return [exe, "--nvtx", "--nvtx-include", nvtx_filter, "--target-processes", "all",
            "--force-overwrite", "-o", str(path), *inner]


def profile_name(scenarios: list[str], run_id: str) -> str:
    """``<scenario stems joined by +>-<run id>``: the profile of a run beside its results."""
    stems = "+".join(Path(s).stem for s in scenarios) or "run"
    return f"{stems}-{run_id}"
