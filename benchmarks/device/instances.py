"""Instance effect: do two preparations of the *same* case run at the same speed?

Prepares N instances of one case in one process (in order 1..N), binds them, then measures
them round-robin in short blocks (a fresh random order each round, synchronised re-warm before
each block) and reports each instance's median offset from the mean of all. Repeated for S
sets (all instances freed between sets). On the H100 the A/B A/A runs of a torch CUDA-graph
resnet50 showed B, always prepared second, 0.06-0.33 % slower than A: this tells an offset
tied to the preparation order from one tied to the instance.

    python benchmarks/device/instances.py --backend torch --option mode=graph \\
        --model torchvision.models:resnet50 --precision fp16 --shapes x:8x3x224x224 \\
        --instances 4 --sets 3 --rounds 12 --save instances.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import replace

import numpy as np

from harness.ab.measure import _prepare, _Side, block_sample_count
from harness.ab.plan import parse_option
from harness.api import bench_case
from harness.scenario.schema import Warmup
from harness.timing.measure import warm_up


def measure_set(case, n: int, rounds: int, block_s: float, rng) -> list[list[float]]:
    """Block medians (ms) per instance, ``rounds`` blocks each."""
    medians: list[list[float]] = [[] for _ in range(n)]
    with contextlib.ExitStack() as stack:
        sides = [_Side(f"I{i}", case) for i in range(n)]
        for side in sides:
            _prepare(side, ".", stack)
        for side in sides:
            side.info["feed"] = sides[0].info["feed"]
            side.bind()
            warm_up(side.warm, case.warmup)
        counts = []
        for side in sides:
            t, k, _ = warm_up(side.warm, Warmup(min_time=0.05, max_time=0.2, min_iterations=5))
            counts.append(block_sample_count(block_s, t / k,
                                             getattr(side.timer, "runs_per_sample", 1), 20))
        count = min(counts)                 # the slowest instance sets the block length
        rewarm = Warmup(min_time=0.02, max_time=0.1, min_iterations=2)
        for _ in range(rounds):
            for i in rng.permutation(n):
                side = sides[i]
                warm_up(side.warm, rewarm)
                samples = side.timer.sample(side.step, count)
                medians[i].append(float(np.median(samples)) * 1e3)
    return medians


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--shapes")
    p.add_argument("--option", action="append")
    p.add_argument("--cuda-graph", action="store_true")
    p.add_argument("--instances", type=int, default=4)
    p.add_argument("--sets", type=int, default=3)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--block-s", type=float, default=0.06)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save")
    args = p.parse_args()
    options = dict(parse_option(o) for o in args.option or [])
    case = bench_case(args.model, backend=args.backend, shapes=args.shapes,
                      precision=args.precision, options=options, warmup="300ms")
    if args.cuda_graph:
        case = replace(case, timing=case.timing.model_copy(update={"cuda_graph": True}))
    rng = np.random.default_rng(args.seed)
    out = {"case": case.id, "options": options, "sets": []}
    for s in range(args.sets):
        med = measure_set(case, args.instances, args.rounds, args.block_s, rng)
        per = np.array([np.median(m) for m in med])
        offsets = (per / per.mean() - 1) * 100
        # within-instance spread of block medians: what the offsets are measured against
        noise = np.median([np.std(m, ddof=1) / np.mean(m) * 100 for m in med])
        out["sets"].append({"block_medians_ms": med, "offsets_pct": offsets.tolist(),
                            "block_cv_pct": float(noise)})
        print(f"{case.id} {options} set {s}: offsets by preparation order "
              + " ".join(f"{o:+.3f}%" for o in offsets)
              + f"  (block CV {noise:.3f} %, SE of an offset ~"
              f"{noise / np.sqrt(args.rounds):.3f} %)", flush=True)
        if args.save:
            with open(args.save, "w") as fh:
                json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
