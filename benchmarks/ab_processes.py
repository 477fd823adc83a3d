"""Issue 20, A/B half: the measurement behind ``trt-harness ab --processes`` (session 16),
kept to re-judge its raw data: A and B in alternate fresh processes at one set of layout seeds,
compared layout by layout.

Why: an A/B in one process prepares both sides side by side, so their layouts can never be
the same, and squeezenet1_1's layouts are 1.9 % apart: its +1 % stays undecided
(docs/verdicts.md). Session 15 found that a seed replays a layout to about 0.1 % in any
process that prepared the same cases before it. Here each round runs ``trt-harness run`` on
A's scenario and on B's (the same case ids, so ``--layout-seed`` gives both the same seeds),
in ABBA order over rounds, and each case's runs become the rounds of a process-paired A/B
record (:func:`harness.ab.processes.as_round`), judged by ``ab``'s own verdict
(:func:`harness.ab.verdict.judge`): the saved device runs re-judge with the product's code.

    python -m benchmarks.ab_processes A.toml B.toml --rounds 4 --out /tmp/abp --allow-code
    python -m benchmarks.ab_processes --load /tmp/abp          # judge saved runs again
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.ab.processes import as_round, side_order
from harness.ab.verdict import judge
from harness.baseline.verdict import DEFAULT_POLICY
from harness.verdict.records import MetricVerdict


def measure(a: str, b: str, rounds: int, seed: int, out: Path, extra: list[str]) -> None:
    """Run the rounds, each side in its own fresh process; results under ``out``."""
    count = {"A": 0, "B": 0}
    for side in side_order(rounds):
        count[side] += 1
        dest = out / f"{side}{count[side]}"
        cmd = [sys.executable, "-m", "harness", "run", a if side == "A" else b, "--quiet",
               "--layout-seed", str(seed), "--out", str(dest), *extra]
        rc = subprocess.run(cmd, check=False).returncode
        print(f"{dest.name}: rc={rc}", flush=True)


def records(out: Path, tolerance: float | None, settings: dict[str, Any]
            ) -> dict[str, dict[str, Any]]:
    """Per case id, the process-paired A/B record of the runs saved under ``out`` (``A1``,
    ``B1``, ...: each a ``trt-harness run`` results folder), as ``ab --processes`` records it."""
    out_records: dict[str, dict[str, Any]] = {}
    for path in sorted(out.glob("[AB]*/results.json"), key=lambda p: (p.parent.name[1:].zfill(4),
                                                                       p.parent.name[0])):
        label, number = path.parent.name[0], int(path.parent.name[1:])
        if settings.get("processes") and number > settings["processes"]:
            continue        # judged on the first rounds only (--rounds with --load)
        for c in json.loads(path.read_text())["cases"]:
            rec = out_records.setdefault(c["id"], {
                "id": c["id"], "status": "ok", "method": "processes", "rounds": [], "warnings": [],
                "settings": {**settings, "tolerance": ({} if tolerance is None else
                                                       {"median": tolerance})}})
            rec["rounds"].append(as_round(c, label, number, 0.0))
    for rec in out_records.values():
        rec["timing"] = {"timer": next((r["timer"] for r in rec["rounds"] if r["timer"]), None)}
    return out_records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="A's and B's scenario files (the same ids)")
    p.add_argument("--rounds", type=int, default=4,
                   help="processes per side (with --load: judge the first N rounds only)")
    p.add_argument("--layout-seed", type=int, default=7)
    p.add_argument("--out", default=None, help="where the runs go (required to measure)")
    p.add_argument("--load", default=None, help="judge the runs saved under this folder")
    p.add_argument("--tolerance", type=float, default=None,
                   help="the median's tolerance (default: ab's, by timer)")
    p.add_argument("--paired-cv", type=float, default=DEFAULT_POLICY.paired_layout_cv)
    p.add_argument("--allow-code", action="store_true")
    args = p.parse_args(argv)
    if args.load is None:
        if len(args.scenarios) != 2 or args.out is None:
            p.error("give A's and B's scenario files and --out (or --load a folder)")
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        measure(*args.scenarios, args.rounds, args.layout_seed, out,
                ["--allow-code"] if args.allow_code else [])
    else:
        out = Path(args.load)
    table = {}
    print("| case | runs A / B | layouts | change | interval | MDC | call |")
    print("|---|---|---|---|---|---|---|")
    policy = dataclasses.replace(DEFAULT_POLICY, paired_layout_cv=args.paired_cv)
    found = records(out, args.tolerance, {"processes": args.rounds})
    for cid, rec in sorted(found.items()):
        [v] = judge([rec], policy)
        m = v.metrics.get("median") or MetricVerdict()
        table[cid] = {"call": v.status, **m.to_json()}
        ci = m.get("ci") or [math.nan, math.nan]
        runs = m.get("runs") or [0, 0]
        print(f"| {cid} | {runs[0]} / {runs[1]} | {m.get('layouts', 0)} | "
              f"{m.get('change', math.nan):+.2%} | [{ci[0]:+.2%}, {ci[1]:+.2%}] | "
              f"{m.get('mdc', math.nan):.2%} | {v.status} |")
    (out / "ab_processes.json").write_text(json.dumps(table, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
