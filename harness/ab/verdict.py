"""The paired verdict of an A/B record: per metric, the log-ratio B/A of each interleaved
pair of blocks is one replicate (:func:`harness.comparison.compare_paired`); B is "slower"
only when that is statistically clear (after correcting over all A/B metrics of the run) and
beyond the tolerance, "faster" likewise, "same" only when the interval lies inside
±tolerance (equivalence shown), and "undecided" when neither was shown — with how much more
measuring would settle it. Pairs are grouped by preparation (memory layout): when the
preparations disagree, their measured spread sets the interval
(:func:`harness.comparison.compare_preparations`).
Pure functions over the record's blocks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.ab.rounds import completed_rounds
from harness.baseline.verdict import (
    DEFAULT_POLICY,
    DEFAULT_TOLERANCE,
    LAYOUT_TRIM,
    VerdictPolicy,
    decide_metric,
    decide_pending,
    describe_metric,
    throughput_metric,
)
from harness.comparison import (
    compare_layout_groups,
    compare_paired_runs,
    compare_preparations,
    look_level,
)
from harness.telemetry import host
from harness.verdict import clocks
from harness.verdict.clocks import look_share
from harness.verdict.records import Flag, MetricVerdict, Verdict

LABELS = ("slower", "faster", "same")
FAILING = ("slower", "failed")
METRICS = {"median": "median_ms", "p99": "p99_ms"}
MIN_PAIRS = 5
# The kind of the flag for a comparison whose sides' pace the host set (enqueue-bound).
HOST_PACE = "enqueue-bound"
# Processes per side the undecided advice suggests (ab --processes): the smallest of 2, 3, 4
# that, SIMULATED on the tuning workload's model (shufflenet_v2_x1_0's layout study, its
# H200 replay components; benchmarks/process_model.py, 400 trials a level), gives "slower"
# or "faster" in <= 1 % of A/A and moved A/A and finds +1 % in >= 95 %, by a rule written
# before the model ran (docs/device-runs/README.md, "Session 16"). Session 16: 2. Session 18,
# once the H200 showed a moved B's layouts shifting together and each process pair got its
# own base (the shift modelled as one layout draw per pair, N(0, 1.32 %), the tuning
# layouts' own SD; extending): 2 calls 2.0 % of moved A/A, 3 calls 0.5 % and finds +1 % in
# 100 %: 3 (docs/verdicts.md, "A base pad per process pair").
SUGGESTED_PROCESSES = 3
# The kind of the flag for a process-paired comparison of a short case timed per iteration.
PROCESS_EVENTS = "per-process-events"
# What a fresh process adds to one replay timed between two CUDA events: its own level of
# the graph launch and the two event records, an SD of 0.20 us between processes on the H200
# (the kernel itself identical in all of them; with 20 replays between two events, 0.083 us
# a replay). Measured in session 29 on spin:10 (benchmarks/device/spin_state.py, 44
# processes), a reporting workload: the flag below only says what it costs and what spreads
# it, it decides nothing.
PROCESS_EVENT_SD_MS = 0.20e-3


def pair_values(record: dict[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """The A and B block values of each complete pair, in pair order."""
    a: dict[int, float] = {}
    b: dict[int, float] = {}
    for blk in record["blocks"]:
        (a if blk["side"] == "A" else b)[blk["pair"]] = blk[key]
    pairs = sorted(set(a) & set(b))
    return np.array([a[i] for i in pairs]), np.array([b[i] for i in pairs])


# Interleaving resolves a few tenths of a percent (docs/verdicts.md), so A/B tolerances
# are far tighter than a stored baseline's. 0.5 % chosen on the tuning workloads
# (efficientnet_b0, resnet50; H200, fp16 b8 CUDA graph): with random layouts their A/A
# intervals are ±0.15-0.5 % wide, so 0.2 % could rarely show "same" (1 of 4 A/A) while 0.5 %
# does in 3 of 4, and +1 % stays beyond it (docs/verdicts.md, "Failing closed").
AB_TOLERANCE = {"median": 0.005, "p99": 0.02, "throughput": 0.005}
# Host-timed comparisons (ONNX Runtime on the CPU): by the same rule, the smallest of 1, 2,
# 3 and 5 % at which 3 of 4 A/A say "same", chosen on the tuning workload zoo:resnet (2-core
# CI VM, 8 A/A trials at the defaults: intervals ±1.3-3.4 %; "same" in 0, 1, 5 and 7 of 8).
# These are the stored verdict's defaults too (DEFAULT_TOLERANCE): on a shared CPU the
# interleaving buys little over separate runs (docs/verdicts.md, "Host-timed A/B").
AB_HOST_TOLERANCE = {"median": 0.05, "p99": 0.20, "throughput": 0.05}


def ab_tolerance(record: dict[str, Any]) -> dict[str, float]:
    """The tolerance table a comparison is judged with: the one it was run with
    (``settings.tolerance``), and for the metrics that leaves out the defaults of how its
    sides were timed (a host timer, or the device's)."""
    host = (record.get("timing") or {}).get("timer") == "host"
    return {**DEFAULT_TOLERANCE, **(AB_HOST_TOLERANCE if host else AB_TOLERANCE),
            **(record.get("settings", {}).get("tolerance") or {})}


def instance_cv(record: dict[str, Any], policy: VerdictPolicy = DEFAULT_POLICY) -> float:
    """The larger of the two sides' stated instance spreads, the policy's where unstated."""
    spreads = [(record.get(side) or {}).get("instance_spread") for side in ("a", "b")]
    return max(policy.instance_cv if s is None else float(s) for s in spreads)


def pair_instances(record: dict[str, Any]) -> np.ndarray:
    """The instance each complete pair measured, in pair order (0 for older records)."""
    seen: dict[int, set[str]] = {}
    inst: dict[int, int] = {}
    for blk in record["blocks"]:
        seen.setdefault(blk["pair"], set()).add(blk["side"])
        inst[blk["pair"]] = int(blk.get("instance", 0))
    return np.array([inst[p] for p in sorted(seen) if len(seen[p]) == 2], dtype=int)


def instance_means(d: np.ndarray, instances: np.ndarray, k: int) -> np.ndarray:
    """Mean log-ratio per instance pair."""
    return np.array([d[instances == i].mean() for i in range(k) if np.any(instances == i)])


def evaluate(record: dict[str, Any], policy: VerdictPolicy = DEFAULT_POLICY) -> Verdict:
    """Evidence for one record (its metrics "pending": :func:`finalize` decides them)."""
    tol = ab_tolerance(record)
    k = max(1, int(record.get("settings", {}).get("instances") or 1))
    cv = instance_cv(record, policy)
    if record.get("status") in ("failed", "skipped", "interrupted"):
        # an interrupted comparison is not judged (where Ctrl-C fell is no stop rule): it
        # reads as a failed one does, with its blocks kept in the record
        status = "failed" if record["status"] == "interrupted" else record["status"]
        return Verdict.build(status=status,
                             reason=record.get("error") or "a side failed", metrics={})
    if record.get("method") == "processes":
        return _evaluate_processes(record, tol, policy)
    inst = pair_instances(record)
    looks, share = looks_of(record, policy)
    alpha = policy.alpha / looks
    metrics: dict[str, MetricVerdict] = {}
    for metric, key in METRICS.items():
        a, b = pair_values(record, key)
        if len(a) == 0 or np.any(a <= 0) or np.any(b <= 0):
            continue
        d = np.log(b) - np.log(a)
        # each side's instances add their offsets: variance 2 cv^2 / k on the mean log-ratio
        # as a floor; their measured spread where larger (compare_preparations)
        scale = policy.p99_noise if metric == "p99" else 1.0
        inst_var = 2 * (cv * scale) ** 2 / k
        comp = compare_preparations(d, inst, alpha, policy.power, instance_var=inst_var,
                                    trim=policy.preparation_trim)
        means = instance_means(d, inst, k)
        a_ms = float(np.exp(np.log(a).mean()))     # A's geometric mean over its blocks
        metrics[metric] = MetricVerdict.build(
            status="pending", tolerance=tol[metric], direction="lower is better",
            # B from the estimate, so "A ms -> B ms" always reads as the reported change: the
            # estimate sets disturbed pairs aside, or averages preparation means, and B's own
            # geometric mean could then even lie on the other side of A (seen on a host timer)
            a_ms=a_ms, b_ms=a_ms * math.exp(comp.log_ratio),
            pairs=len(a), instances=k, instance_cv=cv * scale, looks=looks,
            look_share=share,
            instance_spread=float(means.std(ddof=1)) if len(means) > 1 else None,
            instance_spread_allowed=spread_allowed(d, inst, means, cv * scale),
            **comp.to_json())
    flags: list[str | Flag] = []
    med = metrics.get("median") or MetricVerdict()
    spread, allowed = med.get("instance_spread"), med.get("instance_spread_allowed")
    if spread is not None and allowed is not None and spread > allowed:
        # Not a reason to discard the data (issue 22): the interval already uses the spread.
        flags.append(f"the {k} preparations of each side disagree: preparation-pair means "
                     f"spread {spread:.2%} (the {cv:.2%} prior allows {allowed:.2%}); judged "
                     "with the measured spread")
    bound = host_pace_flag(record, med)
    if bound is not None:
        flags.append(bound)
    pairs = med.get("pairs", 0)
    few = [f"too few block pairs ({pairs} < {MIN_PAIRS})"] if pairs < MIN_PAIRS else []
    return _pending(record, metrics, tol, policy, few, flags)


def looks_of(record: dict[str, Any], policy: VerdictPolicy) -> tuple[int, float]:
    """How many looks a comparison made (each extension round looked at the data once more
    before measuring on) and the share of alpha its last look calls a change at.

    A call ("slower", "faster") at each look is made at its share of the false-alarm budget
    (harness.comparison.look_level; what the default "split" bounds, and what it does not,
    is said there). The interval, and with it "same" (inside ±tolerance), stays at
    alpha / looks under either rule: a false "same" is a missed change, which the power
    figures measure, and a stricter interval sent real A/A on the H200 into extension."""
    looks = look_count(record)
    return looks, look_level(policy.alpha, looks, policy.look_spending) / policy.alpha


def look_count(record: dict[str, Any]) -> int:
    """The looks a comparison has made: its first, one per extension round, and those of the
    interleaved comparison it went on from (``looks_before``, an escalated process-paired
    record: its looks continue that comparison's spending, so the two together call a false
    change at most at alpha)."""
    return int(record.get("looks_before") or 0) + 1 + len(record.get("extensions") or [])


def _pending(record: dict[str, Any], metrics: dict[str, MetricVerdict], tol: dict[str, float],
             policy: VerdictPolicy, unstable: list[str], flags: list[str | Flag]) -> Verdict:
    """The pending verdict of a record's metrics, with what made its measuring unstable
    (``unstable`` so far, and throttling or a busy host here)."""
    share = (record.get("telemetry") or {}).get("flagged_share")
    if share is not None and share > policy.max_throttled_share:
        unstable.append(f"clock slowdown (throttling) during {share:.0%} of the "
                        f"{'measuring' if record.get('method') == 'processes' else 'interleaved'}"
                        " phase")
    load = host_load(record)
    busy = host.host_busy(load, policy.max_others_of_idle, max_steal=policy.max_steal_share)
    explains: dict[str, Any] = {}
    if busy:
        # issue 20, item 6: interleaving cancels contention common to both sides, not a
        # burst that lands on one side's blocks (the CI VM: an ONNX Runtime A/A read "B
        # slower +55 %" beside other work); a call contention can explain is not made
        unstable.append(busy)
        explains = {"host_explains": host.explained_slowdown(load)}
    return Verdict.build(status="pending", reason="", metrics=metrics, unstable=unstable,
                         flags=flags, throughput_tolerance=tol["throughput"],
                         **explains, **clocks.ab_clock_fields(record))


def process_layouts(record: dict[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """A process-paired record's log ``key`` per process pair (rows: A's and B's k-th
    processes, where both completed) and layout (columns) of A and of B, over the layouts
    every such run measured (:mod:`harness.ab.processes`)."""
    runs = {(r["side"], r["round"]): r for r in completed_rounds(record)}
    pairs = sorted(n for side, n in runs if side == "A" and ("B", n) in runs)
    n = min((len(runs[side, k]["layout_figures"]) for k in pairs for side in "AB"), default=0)
    rows = {side: [[math.log(x[key]) for x in runs[side, k]["layout_figures"][:n]]
                   for k in pairs] for side in "AB"}
    return np.array(rows["A"], dtype=float), np.array(rows["B"], dtype=float)


def placed_layouts(record: dict[str, Any]) -> bool:
    """Whether every completed process of a process-paired record placed its memory at its
    layouts (each layout figure's ``applied``)."""
    figures = [x for r in completed_rounds(record) for x in r["layout_figures"]]
    return bool(figures) and all(x.get("applied") for x in figures)


def _evaluate_processes(record: dict[str, Any], tol: dict[str, float],
                        policy: VerdictPolicy) -> Verdict:
    """Evidence for a process-paired record: per metric, B's runs against A's, pair by pair
    and layout by layout (:func:`harness.comparison.compare_paired_runs`, at the stored
    verdict's paired prior and trim: the same model of layouts replayed in fresh processes,
    with the pairs' base pads a sampled level), at its looks' levels as an interleaved
    record's."""
    looks, share = looks_of(record, policy)
    # Pairs share a base only where the backend placed its memory at the layouts (and the
    # base pad before them). Where it did not (ONNX Runtime on the CPU: repeated
    # preparations) a pair is two unrelated processes, and the runs' spread within each side
    # measures the run-level term on twice the degrees of freedom of the pairs' disagreement:
    # on the CPU VM, where a process's level varies up to 2x, one degree of freedom left a
    # 40x slowdown's interval spanning -96 % (session 18).
    compare = compare_paired_runs if placed_layouts(record) else compare_layout_groups
    metrics: dict[str, MetricVerdict] = {}
    for metric, key in METRICS.items():
        a, b = process_layouts(record, key)
        if len(a) < 2 or a.shape[1] < 3 or not np.all(np.isfinite([a, b])):
            continue
        comp = compare(a, b, policy.paired_prior(metric), policy.alpha / looks, policy.power,
                       trim=LAYOUT_TRIM)
        a_ms = float(np.exp(a.mean()))
        metrics[metric] = MetricVerdict.build(
            status="pending", tolerance=tol[metric], direction="lower is better",
            a_ms=a_ms, b_ms=a_ms * math.exp(comp.log_ratio), runs=[len(a), len(b)],
            processes=len(a), layouts=int(a.shape[1]), looks=looks,
            look_share=share,
            **comp.to_json())
    unstable = [] if metrics else ["no layout was measured in two process pairs (A's and "
                                   "B's k-th processes both completed)"]
    flags: list[str | Flag] = []
    if record.get("interleaved"):
        flags.append(f"measured in {record['settings']['processes']} processes a side at the "
                     f"same layouts after {record['looks_before']} look(s) of an interleaved "
                     "comparison its preparations' spread left undecided")
    med = metrics.get("median") or MetricVerdict()
    flags.extend(f for f in (host_pace_flag(record, med), process_events_flag(record, med))
                 if f is not None)
    return _pending(record, metrics, tol, policy, unstable, flags)


def host_load(record: dict[str, Any]) -> host.HostLoad | None:
    """What competed for the CPU over a host-timed A/B's interleaved rounds (its first
    window and every extension's, as one), or None (a GPU timer, or no /proc)."""
    load = None
    # a process-paired record: each side's process recorded its own
    windows = [record.get("telemetry"), *record.get("telemetry_extensions", []),
               *completed_rounds(record)]
    for window in windows:
        if (window or {}).get("host"):
            load = host.combine(load, host.HostLoad.from_json(window["host"]))
    return load


def host_pace_flag(record: dict[str, Any], med: MetricVerdict) -> Flag | None:
    """The "enqueue-bound" flag where the host set either side's pace
    (:func:`harness.ab.measure.host_pace`): the comparison is then one of the host's launch
    pace, whatever its status, and the way to compare the GPU work is a CUDA graph."""
    timing = record.get("timing") or {}
    sides = list(timing.get("enqueue_bound") or ())
    if not sides:
        return None
    enq = timing.get("enqueue_ms") or {}
    gpu = {"A": med.get("a_ms"), "B": med.get("b_ms")}
    figures = "; ".join(f"{label} {enq[label]:.3g} ms to enqueue, {gpu[label]:.3g} ms on the GPU"
                        for label in sides if label in enq and gpu[label] is not None)
    return Flag(HOST_PACE, f"enqueue-bound ({figures or 'side ' + ' and '.join(sides)}): the "
                "blocks timed the host's launch pace, which drifts with the host; time a CUDA "
                "graph (torch: --option mode=graph) to compare the GPU work")


def process_events_flag(record: dict[str, Any], med: MetricVerdict) -> Flag | None:
    """The "per-process-events" flag of a process-paired comparison timed per iteration on
    CUDA events whose case is so short that each process's own level of its launch and
    event records (:data:`PROCESS_EVENT_SD_MS`) is half its tolerance or more: processes
    then disagree by about the change a gate looks for, and batched timing spreads that
    level over many replays."""
    table = (((record.get("a") or {}).get("case") or {}).get("timing")) or {}
    timing = record.get("timing") or {}
    # the mode the processes timed in; records from before the auto mode: the case's table.
    # Not harness.timing.mode.recorded_mode: that one calls a mode it cannot see unknown,
    # this flag takes such a record as per iteration (the only mode there was)
    timed = timing.get("mode") or table.get("mode", "per-iteration")
    a_ms, tolerance = med.get("a_ms"), med.get("tolerance")
    if (timing.get("timer") != "cuda-event" or not a_ms or not tolerance
            or timed != "per-iteration"):
        return None
    share = PROCESS_EVENT_SD_MS / a_ms
    if share < tolerance / 2:
        return None
    return Flag(PROCESS_EVENTS, f"a case of {a_ms * 1e3:.3g} µs timed per iteration: each "
                f"process's own level of the launch and the two event records around a "
                f"replay (an SD of about {PROCESS_EVENT_SD_MS * 1e3:.2g} µs between processes "
                f"on the H200, {share:.1%} here) is in this comparison; batched timing "
                "(--timing mode=batched --timing batch_iterations=20, or timing.mode in the "
                "scenario) spreads it over the replays")


def host_paced(v: Verdict) -> bool:
    """Whether a verdict carries the "enqueue-bound" flag (:func:`host_pace_flag`)."""
    return any(f.kind == HOST_PACE for f in v.flags)


def spread_allowed(d: np.ndarray, instances: np.ndarray, means: np.ndarray,
                   cv: float) -> float | None:
    """Four SDs of an instance-pair mean (``means``: :func:`instance_means`) under the
    prior noise model: the instances' 2 cv^2 plus the blocks' own noise (pooled within
    instance pairs) over its pairs."""
    if len(means) < 2 or len(d) <= len(means):
        return None
    own = {i: d[instances == i].mean() for i in set(instances.tolist())}
    resid = d - np.array([own[i] for i in instances])
    within = float((resid ** 2).sum() / (len(d) - len(means)))
    return 4 * float(np.sqrt(2 * cv ** 2 + within * len(means) / len(d)))


def _growth(m: MetricVerdict, policy: VerdictPolicy, look: int) -> float | None:
    """How many times the replicates would have to grow for the comparison's ``look``-th
    look to settle an undecided metric: a call ("slower", "faster") needs the estimate clear
    of zero at the level that look calls at (its share of alpha, after the run's
    multiple-comparison adjustment), "same" needs the interval (alpha / look) inside
    ±tolerance. The standard error falls as 1/sqrt(replicates) and the t quantile with the
    degrees of freedom they add. None: the estimate sits at the tolerance.

    Sized from the interval alone, as before session 9, an extension asked for too little:
    the front look spending calls at 0.1 alpha on the second look (Holm over two metrics
    halves it again) while the interval stays at alpha / 2, so the extended comparison was
    as undecided as before and the block budget ran out (benchmarks/extension_model.py)."""
    c, tol = m.change, m.tolerance
    if abs(abs(c) - tol) < 0.1 * tol:
        return None
    d, se = float(m.get("log_ratio", math.log1p(c))), float(m.get("se") or 0.0)
    if abs(c) >= tol:
        side = "slower" if c > 0 else "faster"
        raw, adjusted = m.get(f"p_{side}"), m.get(f"p_{side}_adjusted")
        # the adjustment's factor for this metric (Holm: up to the number of metrics)
        factor = adjusted / raw if raw and adjusted and raw > 0 and adjusted < 1 else 1.0
        level = look_level(policy.alpha, look, policy.look_spending) / max(factor, 1.0)
        gap = abs(d)
    else:
        level = policy.alpha / look
        gap = min(math.log1p(tol) - d, d - math.log1p(-tol))
    if gap <= 0:
        return None
    if not (se > 0 and math.isfinite(se)):
        # se 0 decides every metric not at the tolerance (never undecided); an infinite one
        # no number of replicates narrows (the interval formula gave inf, and ceil(inf) failed)
        return None
    from scipy.stats import t as student_t

    n = float(m.get("df") or 1.0) + 1.0      # the replicates behind the degrees of freedom

    def short(g: float) -> bool:    # the half-width at g times the replicates exceeds gap
        return float(student_t.ppf(1 - level, max(n * g - 1, 1.0))) * se / math.sqrt(g) > gap

    if not short(1.0):
        return 1.0
    hi = 2.0
    while short(hi) and hi < 1e6:   # the half-width falls with g: bracket, then bisect
        hi *= 2
    lo = hi / 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if short(mid) else (lo, mid)
    return hi


def preparations_needed(m: MetricVerdict, policy: VerdictPolicy = DEFAULT_POLICY,
                        look: int = 1) -> int | None:
    """Preparations per side (a process-paired comparison's: processes per side) that would
    settle an undecided metric at the comparison's ``look``-th look (1: a fresh comparison;
    None: none would)."""
    factor = _growth(m, policy, look)
    units = int(m.get("processes") or m.get("instances") or 1)
    return None if factor is None else math.ceil(units * factor)


def more_needed(m: MetricVerdict, host_paced: bool = False,
                policy: VerdictPolicy = DEFAULT_POLICY) -> str:
    """The undecided reason's advice, for a fresh comparison (its first look): more
    preparations when the preparations' spread set the interval, else more measuring time;
    neither where the host set the pace (``host_paced``: more of either only averages the
    host's drift)."""
    if host_paced:
        return ("the host set the pace, so more preparations or measuring time would only "
                "average its drift")
    factor = _growth(m, policy, 1)
    if factor is None:
        return ("the estimate sits at the tolerance: no amount of measuring settles it; "
                "choose the tolerance you care about")
    if m.get("processes"):
        n = preparations_needed(m, policy)
        advice = f"about {n} processes per side (--processes {n}) would settle it"
        if m.get("method") == "paired-runs" and beyond_twice(m, n):
            # What a user needs to read such a count: it is not noise in the timing. On the
            # H200 (session 19) every A/A whose B allocated differently asked for 47-499.
            advice += ("; A's and B's layouts did not cancel pair by pair, as where B "
                       "places its memory differently from A: the layouts' spread is in "
                       "the comparison")
        return advice
    if spread_set_interval(m):
        n = preparations_needed(m, policy)
        hint = (f"; or --processes {SUGGESTED_PROCESSES}, A and B in fresh processes at the "
                "same layouts, which cancels the layouts' spread where both sides allocate "
                "alike" if layouts_set_interval(m, policy) else "")
        return f"about {n} preparations per side (--instances {n}) would settle it{hint}"
    return f"about {factor:.1f}x the measuring time (--duration) would settle it"


def spread_set_interval(m: MetricVerdict) -> bool:
    """Whether an interleaved metric was judged by its preparations' measured spread (random
    effects over preparation pairs), not by its block pairs."""
    return str(m.get("method", "")).startswith("random-effects")


def layouts_set_interval(m: MetricVerdict, policy: VerdictPolicy = DEFAULT_POLICY) -> bool:
    """Whether an interleaved metric's interval is set by preparations far apart: settling it
    would take more than twice the preparations it has (squeezenet1_1 on the H200: layouts
    1.9 % apart, ~59 asked for against 6). In separate processes at one set of seeds the
    layouts are the same on both sides (``ab --processes``), which cancels that spread."""
    return spread_set_interval(m) and beyond_twice(m, preparations_needed(m, policy))


def beyond_twice(m: MetricVerdict, needed: int | None) -> bool:
    """Whether settling a metric needs more than twice the preparations (or processes) a
    side it has: its units' spread, not the timing, set the interval."""
    return needed is not None and needed > 2 * int(m.get("processes") or m.get("instances") or 1)


def wants_processes(v: Verdict) -> bool:
    """An interleaved verdict, its extensions spent, that fresh processes at the same layouts
    could settle: undecided, its sides not host-paced (no placement is the host's drift) and
    its median's interval set by the preparations' spread (random effects over preparation
    pairs).

    Not only where the layouts ask for more than twice the preparations
    (:func:`layouts_set_interval`, the advice's test, as it was until session 18): on the
    H200 an escalated +1 % on squeezenet1_1 ended its extension at 18 preparations asking for
    about 18 (+2.3 % [+0.5, +4.2]) and stayed undecided without going on. Once the
    extensions are spent, more preparations are not on offer; processes are. Nor only where
    the estimate is off the tolerance: that estimate carries the layouts' spread, which the
    processes cancel (SIMULATED, benchmarks/chain_model.py: on the tuning model 16 % of +1 %
    comparisons ended "at the tolerance", +0.45 to +0.54 %, and stayed undecided)."""
    m = (v.metrics or {}).get("median") or MetricVerdict()
    return v.status == "undecided" and not host_paced(v) and spread_set_interval(m)


def call(m: MetricVerdict, alpha: float) -> tuple[str, bool]:
    """The A/B call on one metric at ``alpha`` and whether its interval lies within the
    tolerance: "slower" / "faster" (clear and beyond the tolerance), "same" (the interval
    inside ±tolerance) or "undecided" (neither shown: issue 22, never green)."""
    status = decide_metric(m, alpha, LABELS)
    lo, hi = m.ci
    equivalent = bool(-m.tolerance <= lo and hi <= m.tolerance)
    return ("undecided" if status == "same" and not equivalent else status), equivalent


def _decide(m: MetricVerdict, policy: VerdictPolicy) -> MetricVerdict:
    status, equivalent = call(m, policy.alpha * look_share(m))
    return m.updated(status=status, equivalent=equivalent,
                     reason=describe_metric(m, "a_ms", "b_ms"))


def finalize(verdicts: list[Verdict], policy: VerdictPolicy = DEFAULT_POLICY) -> list[Verdict]:
    """The verdicts decided, sharing one false-alarm budget: a new record for each pending
    one, the others as given."""
    decided = decide_pending(verdicts, policy, lambda m: _decide(m, policy))
    return [_conclude(v, ms, policy) if v.status == "pending" else v
            for v, ms in zip(verdicts, decided, strict=True)]


def _conclude(v: Verdict, ms: dict[str, MetricVerdict], policy: VerdictPolicy) -> Verdict:
    if "median" in ms:
        ms["throughput"] = throughput_metric(ms["median"], v["throughput_tolerance"],
                                             ("slower", "faster", "same"))
        v = v.without("throughput_tolerance")
    # different SM clocks: a call must hold in cycle space too
    v, ms = clocks.confirm_ab(v, ms, policy.alpha)
    slower = [k for k, m in ms.items() if m.status == "slower"]
    faster = [k for k, m in ms.items() if m.status == "faster"]
    lead = (slower or faster or ["median"])[0]
    m = ms.get(lead) or MetricVerdict()
    v = v.updated(metrics=ms, metric=lead, change=m.get("change"), ci=m.get("ci"),
                  mdc=m.get("mdc"))
    flags = "".join(f"; {f.text}" for f in v.flags)
    explains = v.get("host_explains")
    if explains is not None:
        # a busy host: only a slowdown beyond what contention can explain is B's own
        slower = [k for k in slower if 1 + (ms[k].change or 0) > explains]
        faster = [k for k in faster if 1 / (1 + (ms[k].change or 0)) > explains]
    if slower:
        # a clear slowdown stands even when the phase was disturbed: the noise is in
        # its interval, and a gate must fail closed
        busy = (f"; the host was busy, but contention explains at most {explains:.1f}x"
                if explains is not None else "")
        return v.updated(status="slower", reason="B slower than A: " + "; ".join(
            f"{k} {ms[k].reason}" for k in slower) + busy + flags)
    if v.unstable:
        return v.updated(status="unstable", reason="unstable: " + "; ".join(v.unstable) + flags)
    if faster:
        return v.updated(status="faster", reason="B faster than A: " + "; ".join(
            f"{k} {ms[k].reason}" for k in faster) + flags)
    if m.status == "undecided":
        return v.updated(status="undecided", reason=(
            f"undecided: median {m.reason}: neither beyond nor within the tolerance; "
            f"{more_needed(m, host_paced(v), policy)}" + flags))
    return v.updated(status="same", reason=f"equivalent within the tolerance: median "
                     f"{m.reason}" + flags)


def judge(records: list[dict[str, Any]], policy: VerdictPolicy = DEFAULT_POLICY
          ) -> list[Verdict]:
    """Attach ``verdict`` to every A/B record, sharing one false-alarm budget; the
    verdicts, in the records' order."""
    verdicts = finalize([evaluate(r, policy) for r in records], policy)
    for r, v in zip(records, verdicts, strict=True):
        r["verdict"] = v
    return verdicts
