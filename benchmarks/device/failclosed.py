"""Issues 22 and 20 on the GPU: does the A/B gate hold on workloads it was never tuned on?

Each trial is one ``trt-harness ab`` at its defaults (fresh preparations in fresh random
layouts, ``DEFAULT_INSTANCES`` per side, 10 s of interleaved measuring, extended with new
preparations while undecided up to ``DEFAULT_MAX_DURATION_S``; records saved before
2026-12-02 were measured without the extension), A = B = one workload;
B carries an injected slowdown (0: A/A), or, at the level ``moved``, A/A with B's
preparations following an extra 1-64 MiB allocation (``options.torch.extra_pad``: the layout
moved, nothing else). Workloads (``--workload``, comma-separated):

    resnet18                 torchvision architecture, torch CUDA graph, fp16 batch 8
    eager:resnet18           the same in eager mode
    spin:100                 calibration kernel of 100 us, CUDA graph, timed in the default
                             mode (since session 30 "auto": batched under 50 µs)
    spin-batched:10          the same timed in batches (``timing.mode = "batched"``, 20
                             replays between two events; session 29's process-state study)
    spin-per-iteration:10    the same timed per iteration (the default before session 30,
                             so spin:10 and spin:40 of earlier panels ran so)
    ort:zoo:transformer      ONNX Runtime on the CPU (host timer), zoo model, batch 1; its
                             slowdown is a busy-wait of that fraction of its median

Trials run in one process (torch is imported once) in a shuffled order, and every record is
saved as it arrives (block statistics, verdicts, layout seeds; per-sample data are dropped for
size), so a killed call keeps what it measured.

    python benchmarks/device/failclosed.py --workload resnet18,spin:100 \\
        --levels 0:3,moved:3,0.01:3 --save $OUT/panel-1.json
    python benchmarks/device/failclosed.py --load docs/device-runs/failclosed-*.json  # table
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from harness.ab.measure import DEFAULT_ESCALATE_PROCESSES, ABSettings
from harness.ab.plan import ABPair, escalation, measure_pair, side_case
from harness.ab.verdict import judge, pair_instances, pair_values
from harness.api import bench_case
from harness.fsutil import atomic_write_text
from harness.stats import pooled_variance

MOVED = "moved"          # level: A/A with B's layout moved by an extra allocation
ZOO_SHAPES = {"transformer": "input_ids:1x16"}
# the calibration workloads' timing modes, beside the CUDA graph
SPIN_MODES: dict[str, dict[str, Any]] = {
    "spin": {}, "spin-batched": {"mode": "batched", "batch_iterations": 20},
    "spin-per-iteration": {"mode": "per-iteration"}}


def workload_case(workload: str, extra: dict[str, Any]) -> Any:
    """The bench case of one ``--workload`` spec (module docstring) with B's options."""
    kind, _, name = workload.partition(":")
    if kind in SPIN_MODES:
        return bench_case("calibration:spin", backend="calibration", warmup="500ms",
                          options={"kernel_us": float(name), **extra},
                          timing={"cuda_graph": True, **SPIN_MODES[kind]})
    if kind == "ort":
        shapes = ZOO_SHAPES.get(name.partition(":")[2])
        if set(extra) - {"slowdown"}:
            raise SystemExit(f"{workload}: levels are slowdown fractions on the host")
        # a host slowdown: a busy-wait of that fraction of the model's median, measured once
        # (and only where a level asks for one: A/A needs no such measurement)
        fraction = extra.get("slowdown", 0.0)
        delay = fraction * _host_median_s(name, shapes) if fraction else 0.0
        return bench_case(name, backend="onnxruntime", warmup="500ms", shapes=shapes,
                          inject_delay=delay)
    mode, arch = ("eager", name) if kind == "eager" else ("graph", workload)
    return bench_case(f"torchvision.models:{arch}", backend="torch", precision="fp16",
                      shapes="x:8x3x224x224", warmup="500ms", options={"mode": mode, **extra})


@functools.cache
def _host_median_s(name: str, shapes: str | None) -> float:
    """The median of one short measurement of a host-timed model (the base of its
    injected slowdowns; the injected fraction is then approximate, as on the GPU)."""
    from harness.runner import run_case

    result = run_case(bench_case(name, backend="onnxruntime", warmup="200ms",
                                 shapes=shapes, duration="1s"))
    if result.status != "ok":
        raise SystemExit(f"{name}: {result.error}")
    return result.stats_ms["median"] / 1e3


def b_options(workload: str, level: str, rng: random.Random) -> dict[str, Any]:
    if level == MOVED:
        if workload.partition(":")[0] in (*SPIN_MODES, "ort"):
            raise SystemExit(f"level {MOVED!r} needs a torch workload, not {workload!r}")
        return {"extra_pad": rng.randrange(1 << 20, 64 << 20, 512)}
    return {"slowdown": float(level)} if float(level) else {}


def trial(workload: str, level: str, settings: ABSettings, rng: random.Random) -> dict[str, Any]:
    extra = b_options(workload, level, rng)
    sides = [side_case(workload_case(workload, e), label)
             for label, e in (("A", {}), ("B", extra))]
    t0 = time.perf_counter()
    record = measure_pair(ABPair(sides[0], sides[1], settings))     # as `ab` measures a pair
    [verdict] = judge([record])
    record["verdict"] = verdict.to_json()       # saved with the record as it arrives
    record["wall_s"] = time.perf_counter() - t0
    gone_on = record.get("interleaved") or {}
    if gone_on.get("verdict") is not None:
        gone_on["verdict"] = gone_on["verdict"].to_json()
    for blk in [*record["blocks"], *record.get("rounds", []), *gone_on.get("blocks", [])]:
        blk.pop("samples_ms", None)
    record["experiment"] = {"arch": tabulated_as(workload, record), "slowdown": level, **extra}
    return record


def tabulated_as(workload: str, record: dict[str, Any]) -> str:
    """The workload's name in the tables: a plain ``spin:`` workload that the auto timing
    mode batched (the default since session 30) is named so, apart from the same kernel's
    per-iteration trials of earlier panels, which ran under the same spec."""
    timed = (record.get("timing") or {}).get("mode")
    if workload.partition(":")[0] == "spin" and timed == "batched":
        return f"{workload} (auto: batched)"
    return workload


def _level(value: Any) -> str:
    """A saved level as the table shows it (older files saved the slowdown as a number)."""
    return value if value == MOVED else f"{float(value):+.1%}"


def first_look(record: dict[str, Any]) -> dict[str, Any]:
    """The record as its first look saw it: the blocks measured before the first extension
    round, the preparations it started with. Re-judging these compares settings at equal
    measuring time (a record that extended spent up to 3x the time of one that did not)."""
    ext = record.get("extensions") or []
    if not ext:
        return record
    settings = {**record["settings"],
                "instances": record["settings"]["instances"]
                - sum(e["instances_added"] for e in ext)}
    spent, blocks = 0.0, []
    for blk in record["blocks"]:          # in measuring order
        spent += blk["t_end_s"] - blk["t_s"]
        if spent > ext[0]["after_measure_s"] + 1e-6:
            break
        blocks.append(blk)
    return {**record, "settings": settings, "blocks": blocks, "extensions": []}


def first_pairs(record: dict[str, Any], per_preparation: int) -> dict[str, Any]:
    """The record with only the first ``per_preparation`` block pairs of each preparation
    pair: what a shorter measuring time per preparation would have seen."""
    kept: dict[int, list[int]] = defaultdict(list)
    for blk in record["blocks"]:             # in measuring order
        pairs = kept[int(blk.get("instance", 0))]
        if blk["pair"] not in pairs and len(pairs) < per_preparation:
            pairs.append(blk["pair"])
    keep = {p for pairs in kept.values() for p in pairs}
    return {**record, "blocks": [b for b in record["blocks"] if b["pair"] in keep]}


def first_rounds(record: dict[str, Any], rounds: int) -> dict[str, Any]:
    """A process-paired record (ab --processes) as its first ``rounds`` processes per side
    saw it (the order is ABBA, so these are its first 2 x ``rounds`` processes), with the
    extensions it had made by then (each one more look)."""
    if record.get("method") != "processes":
        return record
    return {**record, "rounds": [r for r in record["rounds"] if r["round"] <= rounds],
            "settings": {**record["settings"], "processes": rounds},
            "extensions": [e for e in record.get("extensions") or []
                           if e["after_processes"] < rounds]}


def load_records(paths: list[str | Path]) -> list[dict[str, Any]]:
    """The records of saved panel files (``--save``'s JSON, gzipped or not), in order."""
    records = []
    for path in map(str, paths):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as fh:
            records += json.load(fh)["records"]
    return records


def _half_width(record: dict[str, Any]) -> float | None:
    ci = (((record.get("verdict") or {}).get("metrics") or {}).get("median") or {}).get("ci")
    return (ci[1] - ci[0]) / 2 if ci else None


def table(records: list[dict[str, Any]]) -> str:
    by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    half: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        key = (r["experiment"]["arch"], _level(r["experiment"]["slowdown"]))
        by[key][(r.get("verdict") or {}).get("status", r.get("status"))] += 1
        wall[key].append(r.get("wall_s", 0.0))
        if _half_width(r) is not None:
            half[key].append(_half_width(r))
    lines = ["| workload | on B | trials | verdicts | A ms | wall s (median) "
             "| interval ± (median) |",
             "|---|---|---|---|---|---|---|"]
    a_ms: dict[str, list[float]] = defaultdict(list)
    for r in records:
        med = ((r.get("verdict") or {}).get("metrics") or {}).get("median") or {}
        if med.get("a_ms"):
            a_ms[r["experiment"]["arch"]].append(med["a_ms"])
    for (arch, s), counts in sorted(by.items()):
        ms = sorted(a_ms[arch])[len(a_ms[arch]) // 2] if a_ms[arch] else float("nan")
        w = sorted(wall[(arch, s)])[len(wall[(arch, s)]) // 2]
        h = sorted(half[(arch, s)])[len(half[(arch, s)]) // 2] if half[(arch, s)] else None
        lines.append(f"| {arch} | {s} | {sum(counts.values())} | "
                     + ", ".join(f"{k} {n}" for k, n in counts.most_common())
                     + f" | {ms:.3f} | {w:.1f} | "
                     + (f"{h:.2%}" if h is not None else "–") + " |")
    return "\n".join(lines)


RULE_LEVELS = ("moved", "A/A", "+1 %")
# the escalated chain's rule (docs/device-runs/README.md, "Session 24, pre-registered"):
# only +1 % needs its count; its A/As are guards, failing it if one is called
CHAIN_RULE_LEVELS = ("+1 %",)


def preregistered(records: list[dict[str, Any]], at_least: int = 20,
                  needs: tuple[str, ...] = RULE_LEVELS) -> list[str]:
    """Session 19's pre-registered rule for process pairs over base pads, per workload
    (docs/device-runs/README.md, "Session 19, pre-registered"): over ``at_least`` or more
    trials at each of A/A, moved A/A and +1 %, no A/A (moved or not) called "slower" or
    "faster", and +1 % "slower" in >= 95 %. One called A/A fails it at any count; it is met
    or not met only once every level in ``needs`` has ``at_least`` trials; before that it is
    open, with how many more each level needs (``CHAIN_RULE_LEVELS``: the escalated
    chain's rule). The +1 % share is taken over the first ``at_least`` +1 % trials in the
    order they ran (``started``), so when to stop is not a choice made after seeing them
    (session 25, before the chain's 14th +1 % trial); a called A/A counts wherever it ran."""
    if unknown := set(needs) - set(RULE_LEVELS):
        # a misspelt level would need nothing and let the rule read "met" early
        raise ValueError(f"needs: unknown levels {sorted(unknown)}; expected {RULE_LEVELS}")
    aa_level, one_level = _level(0), _level(0.01)
    by: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    beyond: Counter = Counter()
    for r in sorted(records, key=lambda r: r.get("started") or ""):
        if r.get("status") == "ok":
            arch, level = r["experiment"]["arch"], _level(r["experiment"]["slowdown"])
            if level == one_level and sum(by[arch][level].values()) >= at_least:
                beyond[arch] += 1
                continue
            by[arch][level][(r.get("verdict") or {}).get("status")] += 1
    lines = []
    for arch, levels in sorted(by.items()):
        aa, moved, one = levels[aa_level], levels[MOVED], levels[one_level]
        called = sum(c[v] for c in (aa, moved) for v in ("slower", "faster"))
        short = {name: at_least - sum(c.values())
                 for name, c in zip(RULE_LEVELS, (moved, aa, one), strict=True)
                 if name in needs and sum(c.values()) < at_least}
        found = one["slower"] / max(sum(one.values()), 1)
        if called:
            outcome = f"FAILED: {called} A/A called"
        elif short:
            outcome = "open: needs " + ", ".join(f"{k} {n}" for k, n in short.items()) + " more"
        else:
            outcome = "met" if found >= 0.95 else f"NOT MET: +1 % found {found:.0%}"
        later = f" (the first {at_least}; {beyond[arch]} run after)" if beyond[arch] else ""
        lines.append(f"{arch}: moved {sum(moved.values())}, A/A {sum(aa.values())}, +1 % "
                     f"slower {one['slower']} of {sum(one.values())}{later}: {outcome}")
    return lines


def default_sends_on(record: dict[str, Any]) -> bool:
    """Whether ab's current defaults would send this interleaved record on in processes
    (:func:`harness.ab.plan.escalation` at ``ABSettings()``, judged alone)."""
    return escalation(record, ABSettings(), 0.0) is not None


def going_on(records: list[dict[str, Any]]) -> str:
    """Per workload and level: of the interleaved trials, how many ab's current defaults
    would send on in processes (:func:`harness.ab.plan.escalation` at ``ABSettings()``,
    each judged alone), by the verdict they ended with: which earlier panels' counts the
    default escalation (session 26) reaches. Trials that did go on when they ran (method
    "processes") are counted apart, by their final verdict, so a panel run at the default
    shows every trial once. Records kept before session 9 lack the enqueue rate, so a
    host-paced one among them cannot show it and counts as going on."""
    by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    on: dict[tuple[str, str], Counter] = defaultdict(Counter)
    went: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in records:
        if r.get("status") != "ok":
            continue
        key = (r["experiment"]["arch"], _level(r["experiment"]["slowdown"]))
        status = (r.get("verdict") or {}).get("status")
        if r.get("method") == "processes":
            went[key][status] += 1
            continue
        by[key][status] += 1
        if default_sends_on(r):
            on[key][status] += 1
    lines = ["| workload | on B | interleaved trials | would go on in processes "
             "| went on when run |", "|---|---|---|---|---|"]
    for key in sorted(by.keys() | went.keys()):
        would = ", ".join(f"{k} {n} of {by[key][k]}" for k, n in on[key].most_common())
        did = ", ".join(f"{k} {n}" for k, n in went[key].most_common())
        lines.append(f"| {key[0]} | {key[1]} | {sum(by[key].values())} | {would or 'none'} "
                     f"| {did or 'none'} |")
    return "\n".join(lines)


# the first trial run with ``DEFAULT_ESCALATE_PROCESSES`` at 3 (session 26's
# panel-2-default-s26c): before it an unset escalate_processes meant 0
DEFAULT_ESCALATION_SINCE = "2026-12-04T14:35:00+00:00"
# the settings a trial must share with ``ABSettings()`` to count as run at ab's defaults:
# all but the seeds, drawn per trial, and ``processes``/``escalate_processes``, checked
# apart, since a trial that went on records the processes it went on to; a setting added
# later is checked too (a record kept before it existed does not count)
_DEFAULT_KEYS = tuple(f.name for f in fields(ABSettings) if f.name not in (
    "seed", "layout_seed", "processes", "escalate_processes"))


def off_default(record: dict[str, Any]) -> str | None:
    """Why ``record`` was not measured as ab's defaults measure today, or None if it was."""
    defaults = ABSettings().__dict__
    # an extended record counts every preparation in ``instances``: take back the added ones
    added = sum(e.get("instances_added", 0) for e in record.get("extensions") or [])
    settings = {**record["settings"], "instances": record["settings"]["instances"] - added}
    if missing := [k for k in _DEFAULT_KEYS if k not in settings]:
        return ", ".join(missing) + " not recorded"      # kept before the setting existed
    if changed := [k for k in _DEFAULT_KEYS if settings[k] != defaults[k]]:
        return ", ".join(changed)
    went_on = record.get("method") == "processes"
    # an escalated record keeps its interleaved looks; one asked for processes has none
    asked = not record.get("interleaved") if went_on else bool(settings.get("processes"))
    if asked:
        return "processes asked"
    if settings.get("escalate_processes") not in (None, DEFAULT_ESCALATE_PROCESSES):
        return "escalate_processes"
    if settings.get("escalate_processes") is None and (
            record.get("started") or "") < DEFAULT_ESCALATION_SINCE:
        return "before the default escalation"
    if not went_on and default_sends_on(record):
        # one the default should have sent on and did not: a defect, never counted
        return "the default would have gone on"
    return None


def default_aa_rule(records: list[dict[str, Any]], at_least: int = 20) -> list[str]:
    """Session 26's pre-registered rule for the A/A target at the default escalation
    (docs/device-runs/README.md, "Next device calls" item 0), per workload: over
    ``at_least`` or more A/As, moved ones included, measured at ab's defaults, none called
    "slower" or "faster". One called A/A fails it at any count; A/As measured otherwise
    (:func:`off_default`) are not counted, and the line says how many and why."""
    aa: dict[str, Counter] = defaultdict(Counter)
    off: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        if r.get("status") != "ok" or _level(r["experiment"]["slowdown"]) not in (
                _level(0), MOVED):
            continue
        arch = r["experiment"]["arch"]
        if why := off_default(r):
            off[arch][why] += 1
        else:
            aa[arch][(r.get("verdict") or {}).get("status")] += 1
    lines = []
    for arch in sorted(aa.keys() | off.keys()):
        n, called = sum(aa[arch].values()), aa[arch]["slower"] + aa[arch]["faster"]
        if called:
            outcome = f"FAILED: {called} A/A called"
        elif n < at_least:
            outcome = f"open: needs {at_least - n} more"
        else:
            outcome = "met"
        verdicts = ", ".join(f"{k} {c}" for k, c in aa[arch].most_common())
        skipped = "; not counted, not at the defaults: " + ", ".join(
            f"{c} ({why})" for why, c in off[arch].most_common()) if off[arch] else ""
        lines.append(f"{arch}: A/A at the defaults {n} ({verdicts or 'none'}){skipped}: "
                     f"{outcome}")
    return lines


def components(record: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """One-way random effects over a record's median log-ratios, grouped by preparation pair:
    (SD of a pair within its preparation, SD between preparations beyond what the pairs
    explain, pairs per preparation, seconds per preparation and side). The last is rough:
    the trial's wall time less its measuring and re-draw time, over its preparations."""
    a, b = pair_values(record, "median_ms")
    inst = pair_instances(record)
    if len(a) < 3:
        return None
    d = np.log(b) - np.log(a)
    groups = [d[inst == i] for i in np.unique(inst)]
    within, df_within = pooled_variance(groups)
    if df_within == 0 or len(groups) < 2:
        return None
    per = float(np.mean([len(g) for g in groups]))
    between = max(float(np.var([g.mean() for g in groups], ddof=1)) - within / per, 0.0)
    timing = record.get("timing") or {}
    prep_s = ((record.get("wall_s") or 0.0) - timing.get("measure_s", 0.0)
              - timing.get("redraw_s", 0.0)) / (2 * record["settings"]["instances"])
    return within ** 0.5, between ** 0.5, per, prep_s


def components_table(records: list[dict[str, Any]]) -> str:
    """Per workload (and re-draw setting): the median of the within-preparation SDs, the root
    mean square of the between-preparation SDs, pairs per preparation, preparation seconds."""
    by: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for r in records:
        c = components(r) if r.get("status") == "ok" else None
        if c is not None:
            by[r["experiment"]["arch"] + (" (redraw)" if r["settings"].get("redraw") else "")
               ].append(c)
    lines = ["| workload | trials | pair SD within a preparation | SD between preparations "
             "| pairs per preparation | s per preparation and side |", "|---|---|---|---|---|---|"]
    for arch, cs in sorted(by.items()):
        w, bt, per, prep = (np.array(x) for x in zip(*cs, strict=True))
        lines.append(f"| {arch} | {len(cs)} | {np.median(w):.3%} | "
                     f"{np.sqrt(np.mean(bt ** 2)):.3%} | {np.median(per):.1f} | "
                     f"{np.median(prep):.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", "--arch", dest="arch", default="resnet18",
                   help="comma-separated workload specs (module docstring)")
    p.add_argument("--levels", default="0:3,0.05:2,0.2:2",
                   help=f"LEVEL:TRIALS,... (LEVEL: a slowdown fraction, or {MOVED!r})")
    p.add_argument("--instances", type=int, default=None, help="default: the A/B default")
    p.add_argument("--duration", type=float, default=None, help="seconds; default: A/B's")
    p.add_argument("--max-duration", type=float, default=None,
                   help="seconds of timed blocks an undecided trial extends to (0: never, "
                        "nor goes on in processes); default: A/B's")
    p.add_argument("--extension-pairs", type=int, default=0, metavar="N",
                   help="block pairs per new preparation in an extension round (default: as "
                        "the first look; ABSettings.extension_pairs)")
    p.add_argument("--redraw", action="store_true",
                   help="a fresh buffer/graph layout before every block pair (ab --redraw)")
    p.add_argument("--processes", type=int, default=0, metavar="N",
                   help="each side in N fresh processes at one set of layout seeds "
                        "(ab --processes N); default: interleaved in this process")
    p.add_argument("--escalate", type=int, default=None, metavar="N",
                   help="an interleaved trial its layouts left undecided goes on in N "
                        "processes a side (ab --escalate-processes N); default: ab's, so a "
                        "panel without it measures what a user gets")
    p.add_argument("--looks-before", type=int, default=0, metavar="L",
                   help="with --load: re-judge process-paired records as if they went on "
                        "after L interleaved looks (the alpha an escalation leaves them)")
    p.add_argument("--save", help="JSON file, rewritten after every trial")
    p.add_argument("--load", nargs="*", help="re-judge and tabulate saved files")
    p.add_argument("--seed", type=int, default=0, help="trial order")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds: start no trial that the longest so far would carry past "
                        "this (a device call's limit; a killed trial is time lost)")
    p.add_argument("--tolerance", type=float, help="with --load: re-judge at this median "
                   "tolerance (a fraction; the verdict is a pure function of the blocks)")
    p.add_argument("--first-look", action="store_true",
                   help="with --load: re-judge each record on its first look only (the "
                        "blocks before any extension): settings compared at equal time")
    p.add_argument("--pairs-per-preparation", type=int, metavar="N",
                   help="with --load: re-judge on the first N block pairs of each preparation")
    p.add_argument("--rounds", type=int, metavar="K",
                   help="with --load: re-judge process-paired records on their first K "
                        "processes per side (what ab --processes K would have seen)")
    p.add_argument("--rule", type=int, default=None, metavar="N",
                   help="with --load: apply session 19's pre-registered rule at N or more "
                        "trials a level (20 in the rule)")
    p.add_argument("--chain-rule", type=int, default=None, metavar="N",
                   help="with --load: apply the escalated chain's rule (session 24): +1 %% "
                        "slower in >= 95%% of N or more trials (20 in the rule), no A/A called")
    p.add_argument("--default-aa-rule", type=int, default=None, metavar="N",
                   help="with --load: apply session 26's rule for the A/A target at the "
                        "default escalation: N or more A/As (moved included) measured at "
                        "ab's defaults, none called (20 in the rule)")
    p.add_argument("--going-on", action="store_true",
                   help="with --load: also how many interleaved trials ab's current "
                        "defaults would send on in processes, per workload and level")
    p.add_argument("--components", action="store_true",
                   help="with --load: also the noise per level (within and between "
                        "preparations), per workload")
    args = p.parse_args(argv)
    if args.load:
        records = load_records(args.load)
        if args.first_look:
            records = [first_look(r) for r in records]
        if args.pairs_per_preparation:
            records = [first_pairs(r, args.pairs_per_preparation) for r in records]
        if args.rounds:
            records = [first_rounds(r, args.rounds) for r in records]
        if args.looks_before:
            records = [{**r, "looks_before": args.looks_before}
                       if r.get("method") == "processes" and not r.get("interleaved") else r
                       for r in records]
        ok = [r for r in records if r.get("status") == "ok"]
        for r in ok:
            if args.tolerance is not None:
                r["settings"]["tolerance"] = {**r["settings"]["tolerance"],
                                              "median": args.tolerance,
                                              "throughput": args.tolerance}
            r["verdict"] = judge([r])[0].to_json()   # verdicts are new records, not edits
        print(f"{len(ok)} records re-judged")
        print(table(records))
        if args.components:
            print(components_table(records))
        if args.going_on:
            print(going_on(records))
        if args.rule:
            print("\n".join(preregistered(records, args.rule)))
        if args.chain_rule:
            print("\n".join(preregistered(records, args.chain_rule, needs=CHAIN_RULE_LEVELS)))
        if args.default_aa_rule:
            print("\n".join(default_aa_rule(records, args.default_aa_rule)))
        return 0
    settings = ABSettings()
    if args.instances:
        settings.instances = args.instances
    if args.duration:
        settings.duration_s = args.duration
    if args.max_duration is not None:
        settings.max_duration_s = args.max_duration
    settings.redraw = args.redraw
    settings.extension_pairs = args.extension_pairs
    settings.processes = args.processes
    settings.escalate_processes = args.escalate
    plan = [(arch, level) for arch in args.arch.split(",")
            for level, n in (x.split(":") for x in args.levels.split(","))
            for _ in range(int(n))]
    rng = random.Random(args.seed)
    rng.shuffle(plan)
    records: list[dict[str, Any]] = []
    start = time.perf_counter()
    for i, (arch, s) in enumerate(plan):
        longest = max((r.get("wall_s", 0.0) for r in records), default=0.0)
        if args.budget and time.perf_counter() - start + longest > args.budget:
            print(f"budget: {i} of {len(plan)} trials fit in {args.budget:g} s", flush=True)
            break
        rec = trial(arch, s, settings, rng)
        records.append(rec)
        v = rec.get("verdict") or {}
        print(f"[{i + 1}/{len(plan)}] {arch} {_level(s)}: {v.get('status') or rec['status']} "
              f"{(v.get('reason') or rec.get('error') or '')[:160]} ({rec['wall_s']:.1f} s)",
              flush=True)
        if args.save:
            atomic_write_text(Path(args.save), json.dumps(
                {"settings": settings.__dict__, "records": records}))
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
