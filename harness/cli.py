"""The ``trt-harness`` command line: a thin layer over :mod:`harness.api`.

Exit codes: 0 fine, 1 a case regressed (or broke), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness import __version__, arguments
from harness.errors import HarnessError


def _table(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # Ids and error texts are data, not markup: 'int64[batchxseq]' must print as it is.
    from harness.metrics import METRICS

    # Labels, units and formats are the metrics table's (api.summary_rows keys the figures).
    med, p99, thr, n = (METRICS[m] for m in ("median", "p99", "throughput", "n"))
    table = Table(title=escape(title), show_lines=False)
    for col, justify in (("case", "left"), (med.heading, "right"), ("95% CI", "right"),
                         (p99.heading, "right"), (thr.heading, "right"), (n.heading, "right"),
                         ("verdict", "left"), ("reason", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in rows:
        table.add_row(*map(escape, (r["case"], med.text(r[med.key]),
                                    METRICS["median_ci_low"].interval(*r["ci_ms"]),
                                    p99.text(r[p99.key]), thr.text(r[thr.key]),
                                    n.text(r[n.key]), r["verdict"] or r["status"],
                                    r["reason"] or "")))
    console = Console()
    # Off a terminal (CI logs, pipes) rich assumes 80 columns and folds every id: use 160.
    Console(width=console.width if console.is_terminal else 160).print(table)


def _say_undecided(code: int) -> None:
    from harness.baseline.verdict import EXIT_UNDECIDED

    if code == EXIT_UNDECIDED:
        print("exit 3: no regression shown, but some verdicts could not be reached "
              "('unstable' or 'undecided': see their reasons); this run is not green "
              "(--allow-undecided accepts it)", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from harness import api, consent

    if args.allow_code:
        consent.allow_code()
    from harness.baseline.verdict import VerdictPolicy
    from harness.progress import make_progress

    policy = VerdictPolicy(alpha=args.alpha, correction=args.correction,
                           unstable_fails=args.unstable_fails,
                           allow_undecided=args.allow_undecided)
    executor = None
    if args.executor != "inprocess":
        from harness.scale.dask_executor import DaskExecutor

        executor = DaskExecutor.from_option(args.executor, args.workers, args.exclusive)
    elif args.workers is not None:
        from harness.errors import ConfigError

        raise ConfigError("--workers needs --executor dask", key="--workers")
    outcome = api.run(args.scenarios, out_dir=args.out, baselines=args.baselines,
                      select=args.case, inject=args.inject_delay,
                      progress=make_progress(not args.quiet), fail_on=args.fail_on,
                      command=sys.argv, policy=policy, quick=args.quick, shard=args.shard,
                      executor=executor, layout_seed=args.layout_seed)
    _table(api.summary_rows(outcome.run), f"run {outcome.run.run_id} on {outcome.run.platform_id}")
    from harness.pipeline.summary import print_study_table

    print_study_table(outcome.run)
    return _finish(outcome)


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.baseline.verdict import VerdictPolicy
    from harness.scale.merge import merge

    policy = VerdictPolicy(alpha=args.alpha, correction=args.correction,
                           unstable_fails=args.unstable_fails,
                           allow_undecided=args.allow_undecided)
    outcome = merge(args.results, args.out, args.baselines, policy=policy,
                    fail_on=args.fail_on, allow_mixed=args.allow_mixed, command=sys.argv)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    from harness import api

    for part in api.split_by_platform(outcome.run):
        _table(api.summary_rows(part), f"merged run {outcome.run.run_id} on {part.platform_id}")
    return _finish(outcome)


def _finish(outcome: Any) -> int:
    """Where the outputs went, what went wrong after measuring, and the exit code."""
    print(f"results: {outcome.results_path}\nreport:  {outcome.report_path}")
    if outcome.reports:
        print(f"summary: {outcome.reports.markdown}\njunit:   {outcome.reports.junit}")
    _problems(outcome)
    _say_undecided(outcome.exit_code)
    return outcome.exit_code


def _problems(outcome: object) -> None:
    for text in getattr(outcome, "problems", ()):
        print(f"error: {text}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    from harness import api

    cases = api.list_cases(args.scenarios, args.case)
    for c in cases:
        shapes = ""
        if c.profile:
            run = c.profile.to_json()["run"]
            shapes = f"  shapes={run}" + ("  (dynamic profile)" if c.profile.is_dynamic else "")
        skip = f"  [skip: {c.skip}]" if c.skip else ""
        print(f"{c.id}  source={c.source}{shapes}{skip}")
    print(f"{len(cases)} case(s)", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from harness import api

    cases = api.list_cases(args.scenarios)
    print(f"ok: {len(args.scenarios)} file(s), {len(cases)} case(s)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from harness import api, trtexec

    args.precision_given = args.precision is not None
    args.precision = args.precision or "fp32"
    kwargs, notes = trtexec.bench_kwargs(args)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    case = api.bench_case(**kwargs)
    run = api.bench(case, args.json, command=sys.argv)
    _table(api.summary_rows(run), f"{kwargs['model']} on {run.platform_id}")
    if args.exportTimes and run.cases and run.cases[0].samples_ms:
        trtexec.export_times(args.exportTimes, run.cases[0].samples_ms)
        print(f"times: {args.exportTimes}")
    for c in run.cases:
        for w in c.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if c.status == "failed":
            print(f"error: {c.error}", file=sys.stderr)
            return 1
        if c.status == "skipped":
            print(f"skipped: {c.error}", file=sys.stderr)
            return 2
    if args.json:
        print(f"results: {args.json}")
    return 0


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    from harness import api

    for path in api.accept(args.results, args.baselines, args.case, args.keep, args.replace,
                           args.force):
        print(f"accepted into {path}")
    return 0


def cmd_baseline_show(args: argparse.Namespace) -> int:
    from harness.baseline.lifecycle import show

    print(show(args.baselines, args.platform, args.case or "*"))
    return 0


def cmd_baseline_history(args: argparse.Namespace) -> int:
    from harness.baseline.lifecycle import history

    print(history(args.baselines, args.platform, args.case or "*", args.last))
    return 0


def cmd_baseline_prune(args: argparse.Namespace) -> int:
    from harness.baseline.lifecycle import prune

    print(prune(args.baselines, args.platform, args.keep, args.case or "*"))
    return 0


def _ab_timing(items: list[str] | None) -> dict[str, object]:
    """``--timing KEY=VALUE`` pairs as the timing table of both sides, checked before
    anything is prepared (one table for A and B: timed differently, a comparison would
    measure the timers, not the engines)."""
    from pydantic import ValidationError

    from harness.errors import ConfigError, validation_problems
    from harness.scenario.schema import Timing

    table = dict(arguments.parse_option(t) for t in items or [])
    try:
        Timing(**table)
    except ValidationError as exc:
        raise ConfigError("; ".join(validation_problems(exc)), key="--timing",
                          expected="KEY=VALUE with KEY one of "
                                   + ", ".join(Timing.model_fields)) from None
    return table


def cmd_ab(args: argparse.Namespace) -> int:
    from harness import api, consent
    from harness.ab import plan
    from harness.baseline.verdict import VerdictPolicy
    from harness.scenario.schema import (
        DEFAULT_MAX_DURATION_S,
        NOT_WITH_PROCESSES,
        not_with_processes,
    )

    if args.allow_code:
        consent.allow_code()

    # unset: the defaults of how the sides are timed (harness.ab.verdict.ab_tolerance)
    tol = ({} if args.tolerance is None
           else {"median": args.tolerance, "throughput": args.tolerance})
    settings = plan.ABSettings(duration_s=args.duration, block_s=args.block,
                               rewarm_s=args.rewarm, seed=args.seed,
                               instances=args.instances or plan.DEFAULT_INSTANCES,
                               layout_seed=args.layout_seed, tolerance=tol,
                               max_duration_s=(DEFAULT_MAX_DURATION_S
                                               if args.max_duration is None
                                               else args.max_duration),
                               max_wall_s=args.max_wall, redraw=args.redraw,
                               processes=args.processes or 0,
                               escalate_processes=args.escalate_processes)
    if args.timing and (len(args.sides) != 2 or args.ref_tree or args.baseline
                        or any(s.endswith(".toml") for s in args.sides)):
        raise HarnessError("--timing applies to two models (A B); a scenario file's cases "
                           "carry their own timing table ([defaults.timing] or timing = "
                           "{...} on the case)")
    bad = [k for k in NOT_WITH_PROCESSES if getattr(args, k)] if args.processes else []
    if bad:
        raise HarnessError(not_with_processes(
            "--processes", ["--" + k.replace("_", "-") for k in bad]))
    if args.ref_tree:
        pairs = plan.ref_tree_pairs(args.sides, args.ref_tree, settings, args.case)
    elif args.baseline:
        pairs, left_out = plan.baseline_pairs(args.sides, args.baselines, settings, args.case)
        for why in left_out:
            print(f"left out: {why}")
        if not pairs:
            raise HarnessError("no case has a baseline whose model is at hand")
    elif all(s.endswith(".toml") for s in args.sides) and args.sides:
        pairs = api.load_plan(args.sides).pairs
    elif len(args.sides) == 2:
        timing = _ab_timing(args.timing)
        sides = []
        for x in "ab":
            get = lambda name, x=x: getattr(args, f"{name}_{x}") or getattr(args, name)  # noqa: E731
            sides.append({"backend": get("backend"), "precision": get("precision") or "fp32",
                          "shapes": get("shapes"), "inject_delay": get("inject_delay") or 0.0,
                          "options": dict(arguments.parse_option(o) for o in
                                          (args.option or []) + (getattr(args, f"option_{x}")
                                                                 or [])),
                          "warmup": args.warmup, "timing": timing})
        pairs = [plan.adhoc_pair((args.sides[0], args.sides[1]), (sides[0], sides[1]),
                                 settings)]
    else:
        raise HarnessError("give two models (A B), scenario files with [[ab]] tables, or "
                           "--ref-tree DIR with scenario files")
    if not pairs:
        raise HarnessError("the scenario files have no [[ab]] tables")
    policy = VerdictPolicy(alpha=args.alpha, unstable_fails=args.unstable_fails,
                           allow_undecided=args.allow_undecided)
    outcome = api.ab(pairs, out_dir=args.out, policy=policy, fail_on=args.fail_on,
                     command=sys.argv)
    from harness.report.view import ab_verdict_of

    for r in outcome.run.ab:
        v = ab_verdict_of(r)
        print(f"{r['id']}: {v.status} — {v.reason}")
        for w in r.get("warnings") or ():       # as the HTML report shows them
            print(f"  ⚠ {w}")
    print(f"results: {outcome.results_path}\nreport:  {outcome.report_path}")
    _problems(outcome)
    _say_undecided(outcome.exit_code)
    return outcome.exit_code


def cmd_export(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.export import write_pytest_benchmark
    from harness.fsutil import atomic_write_text
    from harness.results import load_results

    if not args.out and not args.csv:
        raise ConfigError("export: name an output, -o FILE.json and/or --csv FILE.csv")
    run_ = load_results(args.results)
    if args.out:
        path = write_pytest_benchmark(run_, args.out, not args.no_data)
        print(f"pytest-benchmark JSON: {path}")
    if args.csv:
        from harness.api import results_frame

        atomic_write_text(args.csv, results_frame(run_).to_csv(index=False))
        print(f"CSV, one row per case: {args.csv}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness import api

    path = api.report(args.results, args.out, args.baselines)
    print(f"report: {path}")
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    from harness import api

    report = api.selftest(quick=args.quick, trials=args.trials, json_path=args.json)
    from rich.console import Console
    from rich.table import Table

    from harness.selftest import table_rows

    table = Table(title=f"trt-harness selftest on {report['gpu']['name']}")
    for col in ("what", "figure", "target"):
        table.add_column(col, overflow="fold")
    from rich.markup import escape

    for row in table_rows(report):
        table.add_row(*map(escape, map(str, row)))
    Console(width=max(120, Console().width)).print(table)
    if args.json:
        print(f"json: {args.json}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    import subprocess

    from harness import api

    cmd = api.profile_command(args.tool, args.scenarios, args.output, args.run_args or [],
                              capture=args.capture, case_id=args.capture_case)
    print("running: " + " ".join(cmd), file=sys.stderr)
    return subprocess.call(cmd)


def _shard(text: str) -> object:
    from harness.scale.shard import Shard

    return Shard.parse(text)


ALLOW_UNDECIDED_HELP = ("exit 0 instead of 3 when a verdict could not be reached "
                        "('unstable', 'undecided'); by default such a run is not green")


def build_parser() -> argparse.ArgumentParser:
    from harness.ab.measure import DEFAULT_ESCALATE_PROCESSES, DEFAULT_INSTANCES

    p = argparse.ArgumentParser(prog="trt-harness", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"trt-harness {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run scenario files, judge against baselines, write report")
    r.add_argument("scenarios", nargs="+")
    r.add_argument("--out", default="reports", help="report folder (default: reports)")
    r.add_argument("--baselines", default="baselines")
    r.add_argument("--case", action="append", help="only cases whose id matches this glob")
    r.add_argument("--inject-delay", action="append", default=[], metavar="[GLOB=]DELAY",
                   help="add a busy-wait inside the timed region (e.g. '*/resnet/*=2ms')")
    r.add_argument("--fail-on", default="regression,failed", type=arguments.verdict_names,
                   help="verdicts that make the exit code 1 (default: regression,failed)")
    r.add_argument("--unstable-fails", action="store_true",
                   help="an 'unstable' verdict (throttled, noisy, too few samples) exits 1, "
                        "like a regression")
    r.add_argument("--allow-undecided", action="store_true", help=ALLOW_UNDECIDED_HELP)
    r.add_argument("--alpha", type=arguments.alpha, default=0.01,
                   help="false-alarm budget of the whole run for regressions (default 0.01)")
    r.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                   help="multiple-comparison correction across cases (default holm)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    r.add_argument("--quick", action="store_true",
                   help="CI-sized: cap warm-up and measuring to a fraction of a second per case")
    r.add_argument("--allow-code", action="store_true",
                   help="run code the scenarios name (steps, model factories, plugin "
                        "libraries) from outside their folders (or TRT_HARNESS_ALLOW_CODE=1)")
    r.add_argument("--layout-seed", type=int, default=None,
                   help="draw every case's memory layouts from this seed (a result records it "
                        "as timing.layout_seed): the same layouts in any process, to replay a "
                        "run or to hold layouts fixed; default: fresh random layouts")
    r.add_argument("--shard", type=_shard, metavar="i/N",
                   help="run only shard i of N: a deterministic part of the matrix balanced "
                        "by each case's last known time (A/B pairs stay together)")
    r.add_argument("--executor", default="inprocess", metavar="inprocess|dask|dask://HOST:PORT",
                   help="where cases run: here, one at a time (default); a local Dask cluster "
                        "(one worker per GPU, or --workers CPU processes); a running scheduler")
    r.add_argument("--workers", type=arguments.integer_at_least(1),
                   help="with --executor dask: workers of the local cluster")
    r.add_argument("--exclusive", action="store_true",
                   help="with a Dask executor: every case runs alone on the cluster (no "
                        "interference from cases beside it)")
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="show the expanded cases without running them")
    ls.add_argument("scenarios", nargs="+")
    ls.add_argument("--case", action="append")
    ls.set_defaults(func=cmd_list)

    v = sub.add_parser("validate", help="check scenario files")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=cmd_validate)

    from harness import trtexec

    b = sub.add_parser("bench", help="measure one model, trtexec-style, no scenario file "
                       "(trtexec's spellings are accepted: see harness/trtexec.py)")
    b.add_argument("model", nargs="?", help="an .onnx file or zoo:NAME (or --onnx=FILE)")
    b.add_argument("--backend", help="default: the best installed (tensorrt, else onnxruntime); "
                   "a variant such as torch:graph picks the torch mode")
    b.add_argument("--shapes", help="trtexec syntax, e.g. input:4x3x224x224,mask:4x128")
    b.add_argument("--precision", help="fp32 (default), tf32, fp16, bf16, int8, fp8")
    b.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="backend option, VALUE read as JSON where it can be (e.g. mode=graph "
                        "for torch, target=sm89 for TensorRT-RTX)")
    b.add_argument("--inputs", help="real input data: .npz (one array per input) or .npy")
    b.add_argument("--input-range", action="append", metavar="NAME=LO..HI",
                   help="values for a generated input, e.g. sr=16000 or input_ids=0..30521")
    b.add_argument("--threads", type=arguments.integer_at_least(1),
                   help="onnxruntime intra-op threads (default 1)")
    b.add_argument("--warmup", default="200ms", type=arguments.positive_duration)
    b.add_argument("--duration", default="3s", type=trtexec.duration,
                   help="measuring time cap with a unit ('3s'); a bare number of seconds is "
                        "trtexec's: measure for at least that long")
    b.add_argument("--rel-ci", default="0.5%", type=arguments.positive_fraction,
                   help="stop when the median's CI is this tight")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", help="write the result (same format as a run) here")
    trtexec.add_arguments(b)
    b.set_defaults(func=cmd_bench)

    bl = sub.add_parser("baseline", help="manage stored baselines")
    bsub = bl.add_subparsers(dest="baseline_command", required=True)
    acc = bsub.add_parser("accept", help="make one or several runs' results the baseline")
    acc.add_argument("results", nargs="+", help="results JSON files (reports/results.json)")
    acc.add_argument("--baselines", default="baselines")
    acc.add_argument("--case", action="append", help="accept only case ids matching this glob")
    acc.add_argument("--keep", type=arguments.integer_at_least(1),
                     help="entries kept per case (default 10)")
    acc.add_argument("--replace", action="store_true",
                     help="start a new history where backend version or precision changed")
    acc.add_argument("--force", action="store_true",
                     help="accept runs with failed cases or injected delays too")
    acc.set_defaults(func=cmd_baseline_accept)
    for name, func, text in (("show", cmd_baseline_show, "summarise the stored baselines"),
                             ("history", cmd_baseline_history, "the last N accepted runs per "
                              "case"),
                             ("prune", cmd_baseline_prune, "drop all but the newest entries")):
        sp = bsub.add_parser(name, help=text)
        sp.add_argument("--baselines", default="baselines")
        sp.add_argument("--platform", help="platform id (default: this machine's)")
        sp.add_argument("--case", help="case id glob (default: all)")
        if name == "history":
            sp.add_argument("--last", type=arguments.integer_at_least(1), default=5)
        if name == "prune":
            sp.add_argument("--keep", type=arguments.integer_at_least(0), required=True,
                            help="entries kept per case (0 removes the cases)")
        sp.set_defaults(func=func)

    ab = sub.add_parser("ab", help="measure two engines interleaved (paired A/B verdict)")
    ab.add_argument("sides", nargs="*", metavar="A B | SCENARIO.toml",
                    help="two models (.onnx, zoo:NAME, engine files), or scenario files "
                         "whose [[ab]] tables name the pairs (or, with --ref-tree, whose "
                         "cases are compared with the reference tree's)")
    ab.add_argument("--ref-tree", help="another checkout (e.g. main's): each case there is A, "
                    "the same case here is B")
    ab.add_argument("--baseline", action="store_true",
                    help="each case of the scenario files against its newest stored baseline "
                         "run's case, rebuilt from the same model bytes")
    ab.add_argument("--baselines", default="baselines", help="with --baseline: the store")
    ab.add_argument("--case", action="append",
                    help="with --ref-tree or --baseline: only these case globs")
    for suffix, who in (("", "both sides"), ("-a", "side A"), ("-b", "side B")):
        ab.add_argument(f"--backend{suffix}", help=f"backend of {who}")
        ab.add_argument(f"--precision{suffix}", help=f"precision of {who}")
        ab.add_argument(f"--shapes{suffix}", help=f"shapes of {who} (trtexec syntax)")
        ab.add_argument(f"--option{suffix}", action="append", metavar="KEY=VALUE",
                        help=f"backend option for {who}")
        ab.add_argument(f"--inject-delay{suffix}", help=f"busy-wait added to {who} (testing)")
    ab.add_argument("--timing", action="append", metavar="KEY=VALUE",
                    help="timing table of both sides, as a scenario's [defaults.timing] "
                         "(e.g. --timing mode=per-iteration: the default mode 'auto' "
                         "batches a CUDA-graph case under 50 µs, whose per-iteration events "
                         "carry a level set per process; docs/verdicts.md, 'Session 30')")
    ab.add_argument("--duration", default="10s", type=arguments.positive_duration,
                    help="measuring time of the pair (default 10s)")
    ab.add_argument("--block", default="250ms", type=arguments.positive_duration,
                    help="block length (default 250ms)")
    ab.add_argument("--rewarm", default="50ms", type=arguments.positive_duration,
                    help="re-warm before each block (default 50ms)")
    ab.add_argument("--warmup", default="500ms", type=arguments.positive_duration,
                    help="initial warm-up per side")
    ab.add_argument("--tolerance", default=None, type=arguments.fraction,
                    help="median/throughput tolerance (default 0.5%% on a GPU timer, 5%% on "
                         "the host timer)")
    ab.add_argument("--seed", type=int, default=0, help="block order seed")
    ab.add_argument("--max-duration", default=None, type=arguments.duration_or_zero,
                    help="an undecided comparison prepares more layouts and measures on "
                         "until it is decided or the time in its timed blocks reaches this "
                         "(default 30s; 0 never extends; re-warms and the new preparations "
                         "come on top)")
    ab.add_argument("--max-wall", default=0.0, type=arguments.duration_or_zero,
                    help="wall-clock limit of each comparison, preparations and re-warms "
                         "included: no extension round starts that would end past it (the "
                         "first look always runs; default 0: no limit, --max-duration alone)")
    ab.add_argument("--layout-seed", type=int, default=None,
                    help="replay the memory layouts of an earlier comparison (its record's "
                         "layout_seed); default: new random layouts")
    ab.add_argument("--redraw", action="store_true",
                    help="before every block pair, a fresh random layout for both sides' "
                         "buffers and graphs (weights stay): cheap extra layout draws "
                         "(scenario files: redraw = true in [[ab]]). Opt-in: not yet "
                         "validated on a GPU")
    ab.add_argument("--processes", type=arguments.integer_at_least(2), default=None,
                    metavar="N",
                    help="run A and B each in N fresh processes, alternating ABBA, all at one "
                         "set of layout seeds, A's and B's k-th process over one base pad, and "
                         "compare them pair by pair and layout by layout (each run as "
                         "`run` times a case; --duration and --block do not apply; an "
                         "undecided comparison adds processes up to 2N where that can settle "
                         "it, --max-duration 0 never, --max-wall caps it): for models whose "
                         "preparations differ by more than the tolerance; 3 or more where B "
                         "may allocate differently from A, since with 2 the pairs' spread has "
                         "one degree of freedom (docs/verdicts.md, 'Process-paired A/B')")
    ab.add_argument("--escalate-processes", type=arguments.zero_or_at_least(2), default=None,
                    metavar="N",
                    help="an interleaved comparison its extensions left undecided because "
                         "its preparations are far apart (their spread set the interval) "
                         "goes on as --processes N (3 suggested), its looks continuing the "
                         "interleaved ones' false-alarm budget (scenario files: "
                         "escalate_processes = N in [[ab]]; 0: it stays undecided; default "
                         f"{DEFAULT_ESCALATE_PROCESSES} on CUDA-event timing, 0 on a host "
                         "timer, whose process term processes would add, not cancel; "
                         "docs/verdicts.md, 'Going on in processes')")
    ab.add_argument("--instances", type=arguments.integer_at_least(1), default=None,
                    help=f"preparations (random memory layouts) of each side, in ABBA order "
                         f"(default {DEFAULT_INSTANCES}): two preparations of one engine can "
                         "differ by 0.1-2 %%")
    ab.add_argument("--alpha", type=arguments.alpha, default=0.01)
    ab.add_argument("--out", default="reports")
    ab.add_argument("--fail-on", default="regression,failed", type=arguments.verdict_names)
    ab.add_argument("--unstable-fails", action="store_true")
    ab.add_argument("--allow-undecided", action="store_true", help=ALLOW_UNDECIDED_HELP)
    ab.add_argument("--allow-code", action="store_true",
                    help="let scenario files load code from outside their folder (model "
                         "factories, steps, plugins)")
    ab.set_defaults(func=cmd_ab)

    ex = sub.add_parser("export", help="write results in pytest-benchmark's JSON format "
                        "and/or as CSV (one row per case)")
    ex.add_argument("results")
    ex.add_argument("-o", "--out", help="output .json (e.g. "
                    ".benchmarks/<machine>/0001_run.json for `pytest-benchmark compare`)")
    ex.add_argument("--csv", help="output .csv: the columns of harness.api.results_frame")
    ex.add_argument("--no-data", action="store_true", help="leave the raw samples out")
    ex.set_defaults(func=cmd_export)

    st = sub.add_parser("selftest", help="measure the instrument on this GPU: event floor, "
                        "host overhead, timing error vs in-kernel time, noise, NVML/NVTX cost")
    st.add_argument("--json", help="write the full figures here")
    st.add_argument("--quick", action="store_true", help="fewer samples (about 4x faster)")
    st.add_argument("--trials", type=arguments.integer_at_least(1), default=10,
                    help="trials for the noise figures")
    st.set_defaults(func=cmd_selftest)

    from harness import markers

    pr = sub.add_parser("profile", help="run scenarios under Nsight Systems (nsys, NVTX "
                        "capture) or Nsight Compute (ncu, kernels inside the measure ranges)")
    pr.add_argument("scenarios", nargs="+")
    pr.add_argument("--tool", choices=("nsys", "ncu"), default="nsys")
    pr.add_argument("--output", default="reports/profile",
                    help="report folder; the report is named <scenarios>-<run id>, the id the "
                         "run's results carry (default: reports/profile)")
    pr.add_argument("--capture", choices=markers.CAPTURABLE,
                    help="record only the harness ranges of this kind (nsys: NVTX capture "
                         "range; ncu: NVTX filter, default measure)")
    pr.add_argument("--capture-case", metavar="CASE_ID",
                    help="record only this case (ncu: its measure ranges, or --capture's)")
    pr.add_argument("--run-args", nargs=argparse.REMAINDER,
                    help="arguments for 'trt-harness run' (e.g. --case GLOB --out DIR)")
    pr.set_defaults(func=cmd_profile)

    mg = sub.add_parser("merge", help="merge results (shards, platforms) into one run, judge "
                        "each platform's cases against its baselines, write one report")
    mg.add_argument("results", nargs="+", help="results JSON files (one per shard or host)")
    mg.add_argument("--out", default="reports", help="report folder (default: reports)")
    mg.add_argument("--baselines", default="baselines")
    mg.add_argument("--allow-mixed", action="store_true",
                    help="merge runs of different scenario sets")
    mg.add_argument("--fail-on", default="regression,failed", type=arguments.verdict_names)
    mg.add_argument("--unstable-fails", action="store_true")
    mg.add_argument("--allow-undecided", action="store_true", help=ALLOW_UNDECIDED_HELP)
    mg.add_argument("--alpha", type=arguments.alpha, default=0.01)
    mg.add_argument("--correction", choices=("holm", "bh", "none"), default="holm")
    mg.set_defaults(func=cmd_merge)

    rep = sub.add_parser("report", help="render stored results again; with several files, "
                         "compare the last against the earlier ones (A vs B)")
    rep.add_argument("results", nargs="+", help="results JSON file(s): [A.json ...] B.json")
    rep.add_argument("--out", default="reports/index.html",
                     help="an .html file or a folder; summary.md and junit.xml go beside it")
    rep.add_argument("--baselines", default="baselines")
    rep.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        where = getattr(exc, "results", None)
        print("interrupted: " + (f"the partial run (complete=false) and its report are in "
                                 f"{where}" if where else "partial results were kept"),
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
