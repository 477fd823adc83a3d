"""Issue 20, A/B half, a prototype to measure before building: A and B in alternate fresh
processes at one set of layout seeds, compared layout by layout.

Why: an A/B in one process prepares both sides side by side, so their layouts can never be
the same, and squeezenet1_1's layouts are 1.9 % apart: its +1 % stays undecided
(docs/verdicts.md). Session 15 found that a seed replays a layout to about 0.1 % in any
process that prepared the same cases before it, and the stored verdict now pairs layouts
that way. Here each round runs ``trt-harness run`` on A's scenario and on B's (the same case
ids, so ``--layout-seed`` gives both the same seeds), in ABBA order over rounds so a linear
drift cancels, and each case is judged with
:func:`harness.comparison.compare_layout_groups` at the A/B tolerance: "slower" / "faster"
(clear and beyond the tolerance), "same" (the interval inside ±tolerance) or "undecided",
by ``trt-harness ab``'s own rule (:func:`harness.ab.verdict.call`).
Nothing of this is in ``trt-harness ab`` yet: it is the experiment that would justify it.

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

import numpy as np

from harness.ab.verdict import call
from harness.baseline.verdict import DEFAULT_POLICY, LAYOUT_TRIM
from harness.comparison import Comparison, compare_layout_groups
from harness.results import load_results
from harness.verdict.records import MetricVerdict

AB_TOLERANCE = 0.005          # the A/B default on a GPU (harness.ab)


def side_order(rounds: int) -> list[str]:
    """ABBA over rounds: A B, B A, A B, ..."""
    return [s for r in range(rounds) for s in (("A", "B") if r % 2 == 0 else ("B", "A"))]


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


def layout_logs(out: Path) -> dict[str, dict[str, list[list[float]]]]:
    """Per case id and side, each run's log layout medians (runs that failed left out)."""
    runs: dict[str, dict[str, list[list[float]]]] = {}
    for path in sorted(out.glob("[AB]*/results.json")):
        side = path.parent.name[0]
        for c in load_results(path).cases:
            figures = (c.timing or {}).get("layout_figures") or []
            if c.status == "ok" and len(figures) >= 3:
                runs.setdefault(c.id, {"A": [], "B": []})[side].append(
                    [math.log(x["median_ms"]) for x in figures])
    return runs


def judge(a_rows: list[list[float]], b_rows: list[list[float]], tolerance: float,
          paired_cv: float) -> tuple[str, Comparison]:
    """The A/B call on runs of both sides (their first common number of layouts)."""
    n = min(map(len, a_rows + b_rows))
    policy = dataclasses.replace(DEFAULT_POLICY, paired_layout_cv=paired_cv)
    comp = compare_layout_groups(np.array([r[:n] for r in a_rows]),
                                 np.array([r[:n] for r in b_rows]), policy.paired_prior("median"),
                                 policy.alpha, policy.power, trim=LAYOUT_TRIM)
    # one comparison, one look: the p values are their own adjusted ones
    m = MetricVerdict.build(tolerance=tolerance, p_slower_adjusted=comp.p_slower,
                            p_faster_adjusted=comp.p_faster, **comp.to_json())
    return call(m, policy.alpha)[0], comp


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="A's and B's scenario files (the same ids)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--layout-seed", type=int, default=7)
    p.add_argument("--out", default=None, help="where the runs go (required to measure)")
    p.add_argument("--load", default=None, help="judge the runs saved under this folder")
    p.add_argument("--tolerance", type=float, default=AB_TOLERANCE)
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
    for cid, sides in sorted(layout_logs(out).items()):
        if not sides["A"] or not sides["B"]:
            continue
        call, c = judge(sides["A"], sides["B"], args.tolerance, args.paired_cv)
        table[cid] = {"call": call, **c.to_json()}
        print(f"| {cid} | {len(sides['A'])} / {len(sides['B'])} | "
              f"{min(map(len, sides['A'] + sides['B']))} | {c.change:+.2%} | "
              f"[{c.ci[0]:+.2%}, {c.ci[1]:+.2%}] | {c.mdc:.2%} | {call} |")
    (out / "ab_processes.json").write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
