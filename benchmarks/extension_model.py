"""What an A/B's self-extension would do with a workload's measured noise, before spending
device time on it: SIMULATED comparisons, not measurements.

The noise levels come from saved H200 records (one-way random effects over preparation
pairs, ``benchmarks/device/failclosed.py --components``): the SD of a block pair within a
preparation and the SD between preparations. Each simulated comparison then runs the real
decision code on synthetic blocks: a first look of ``instances`` preparations and
``ABSettings.pairs`` block pairs of 0.5 s, extension rounds sized by
:func:`harness.ab.measure._more` (``settle`` asks the verdict how many preparations would
settle it; the block budget is ``max_duration_s``), and the verdict of
:func:`harness.ab.verdict.judge`. What it leaves out: time drift (interleaving cancels it),
re-warms, disturbed pairs, and whether the offsets of preparations made later in a process
are drawn like the first ones. Wall time is estimated as blocks + 2 x preparations x the
records' seconds per preparation.

    python -m benchmarks.extension_model docs/device-runs/session*/panel-2*.json.gz \\
        --workload squeezenet1_1 --extension-pairs 0,1

``--between`` replaces the records by a grid of synthetic layout spreads (pair SD and seconds
per preparation as given): what spread the defaults resolve, for no workload in particular.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
from collections import Counter
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from benchmarks.device.failclosed import components, load_records
from harness.ab.measure import ABSettings, _more, make_block, round_pairs
from harness.ab.plan import settle
from harness.ab.verdict import judge
from harness.baseline.verdict import DEFAULT_POLICY, VerdictPolicy

PAIR_S = 0.5            # two blocks of the default 0.25 s
A_MS = 1.0


def simulate(delta: float, between: float | np.ndarray, within: float, settings: ABSettings,
             rng: np.random.Generator, policy: VerdictPolicy = DEFAULT_POLICY
             ) -> dict[str, Any]:
    """One comparison: B/A log-ratio ``delta`` plus a per-preparation-pair offset
    N(0, between) plus per-pair noise N(0, within); its record, judged under ``policy``.
    ``between`` an array of measured layouts' log offsets instead: each pair's offset is the
    difference of two of them drawn at random (B's layout less A's)."""
    record: dict[str, Any] = {
        "id": "sim", "status": "ok", "blocks": [], "a": {}, "b": {}, "telemetry": None,
        "warnings": [], "order": "", "timing": {"timer": "cuda-event"},
        "settings": {**asdict(settings), "instances": settings.instances}}
    offsets: list[float] = []

    def measure_round(first: int, count: int, pairs: int) -> None:
        start = len({b["pair"] for b in record["blocks"]})
        if isinstance(between, np.ndarray):
            offsets.extend(rng.choice(between, count) - rng.choice(between, count))
        else:
            offsets.extend(rng.normal(0.0, between, count))
        for i in range(pairs):
            p, inst = start + i, first + i % count
            d = delta + offsets[inst] + rng.normal(0.0, within)
            t = p * PAIR_S
            for label, ms, t0 in (("A", A_MS, t), ("B", A_MS * np.exp(d), t + PAIR_S / 2)):
                record["blocks"].append(make_block(label, p, t0, t0 + PAIR_S / 2,
                                                   np.full(20, ms), inst))

    k = settings.instances
    measure_round(0, k, settings.pairs)
    while more := _more(record, settings, lambda r: settle(r, policy)):
        record.setdefault("extensions", []).append({"instances_added": more})
        measure_round(k, more, round_pairs(settings, more))
        k += more
        record["settings"]["instances"] = k
    judge([record], policy)
    return record


def workload_noise(paths: list[str], workload: str) -> tuple[float, float, float]:
    """(within SD, between SD, seconds per preparation and side) of one workload's saved
    records, as failclosed.py --components tabulates them (median, RMS, median)."""
    found = []
    for r in load_records(paths):
        if (r.get("status") == "ok" and r["experiment"]["arch"] == workload
                and not r["settings"].get("redraw")):
            c = components(r)
            if c is not None:
                found.append(c)
    if not found:
        raise SystemExit(f"no records of {workload!r} in {paths}")
    w, b, _, prep = (np.array(x) for x in zip(*found, strict=True))
    return float(np.median(w)), float(np.sqrt(np.mean(b ** 2))), float(np.median(prep))


def study_layouts(path: str) -> np.ndarray:
    """The log offsets (from their median) of a layout study's random preparations
    (``benchmarks/layout_study.py --save``): mean log block time of each."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as fh:
        w = json.load(fh)["workloads"][0]
    v = np.array([np.mean(np.log(q["blocks_ms"])) for proc in w["processes"]
                  for q in proc["preparations"] if q["kind"] == "random"])
    return v - np.median(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", help="saved panel records (json or json.gz)")
    p.add_argument("--workload", help="the records' workload whose noise to simulate")
    p.add_argument("--between", help="instead: comma-separated synthetic SDs between "
                                     "preparations (e.g. 0.0025,0.005,0.01)")
    p.add_argument("--layouts", help="instead: a layout study's saved file; each pair's "
                                     "offset is the difference of two of its random layouts")
    p.add_argument("--within", type=float, default=0.0005,
                   help="with --between or --layouts: the SD of a block pair (default 0.05 %%)")
    p.add_argument("--trims", default="0",
                   help="comma-separated VerdictPolicy.preparation_trim values")
    p.add_argument("--prep-s", type=float, default=1.0,
                   help="with --between: seconds per preparation and side (default 1)")
    p.add_argument("--extension-pairs", default="0,1",
                   help="comma-separated ABSettings.extension_pairs values (0: the default)")
    p.add_argument("--instances", default=str(ABSettings().instances),
                   help="comma-separated preparations per side of the first look")
    p.add_argument("--deltas", default="0,0.01", help="comma-separated B/A changes")
    p.add_argument("--spending", default="split",
                   help="comma-separated VerdictPolicy.look_spending rules (split, halving, "
                        "front; default split, the rule the documented tables ran under)")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=20)
    args = p.parse_args(argv)
    if args.layouts:
        v = study_layouts(args.layouts)
        noises = [(f"layouts of {args.layouts.rsplit('/', 1)[-1]} (SD {v.std(ddof=1):.2%})",
                   args.within, v, args.prep_s)]
    elif args.between:
        noises = [(f"between {b:.2%}", args.within, b, args.prep_s)
                  for b in (float(x) for x in args.between.split(","))]
    elif args.workload and args.files:
        within, between, prep_s = workload_noise(args.files, args.workload)
        noises = [(args.workload, within, between, prep_s)]
    else:
        p.error("give saved records and --workload, or --between")
    for name, within, between, prep_s in noises:
        spread = np.std(between, ddof=1) * np.sqrt(2) if isinstance(between, np.ndarray) \
            else between
        print(f"{name}: pair SD {within:.3%}, between-preparation SD {spread:.3%}, "
              f"{prep_s:.2f} s per preparation and side")
    print("| noise | first look | extension pairs | look spending | trim | B/A | trials "
          "| verdicts (SIMULATED) | settled at the first look | preparations per side (median) "
          "| wall s (estimate, median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, within, between, prep_s), first, n, spending, trim, delta in itertools.product(
            noises, [int(x) for x in args.instances.split(",")],
            [int(x) for x in args.extension_pairs.split(",")],
            args.spending.split(","), [float(x) for x in args.trims.split(",")],
            [float(x) for x in args.deltas.split(",")]):
        settings = replace(ABSettings(), extension_pairs=n, instances=first)
        policy = replace(DEFAULT_POLICY, look_spending=spending, preparation_trim=trim)
        rng = np.random.default_rng(args.seed)
        recs = [simulate(float(np.log1p(delta)), between, within, settings, rng, policy)
                for _ in range(args.trials)]
        counts = Counter(r["verdict"].status for r in recs)
        k = [r["settings"]["instances"] for r in recs]
        # what a device slice can be held against: its records say whether they extended
        first_look = sum(not r.get("extensions") and r["verdict"].status != "undecided"
                         for r in recs)
        wall = [len({b["pair"] for b in r["blocks"]}) * PAIR_S
                + 2 * r["settings"]["instances"] * prep_s for r in recs]
        print(f"| {name} | {first} preparations | {n or 'as the first look'} | {spending} "
              f"| {trim:g} | {delta:+.1%} | {len(recs)} | "
              + ", ".join(f"{s} {c}" for s, c in counts.most_common())
              + f" | {first_look} | {int(np.median(k))} | {np.median(wall):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
