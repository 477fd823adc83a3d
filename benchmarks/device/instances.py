"""Instance effect: do two preparations of the *same* case run at the same speed?

Prepares N instances of one case in one process (in order 1..N), binds them, then measures
them round-robin in short blocks (a fresh random order each round, synchronised re-warm before
each block) and reports each instance's median offset from the mean of all. Repeated for S
sets (all instances freed between sets). On the H100 the A/B A/A runs of a torch CUDA-graph
resnet50 showed B, always prepared second, 0.06-0.33 % slower than A: this tells an offset
tied to the preparation order from one tied to the instance.

    python -m benchmarks.device.instances --backend torch --option mode=graph \\
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

from benchmarks.layout_study import interleaved_block_medians
from harness.ab.measure import _prepare, _Side
from harness.api import bench_case
from harness.arguments import parse_option


def measure_set(case, n: int, rounds: int, block_s: float, rng) -> list[list[float]]:
    """Block medians (ms) per instance, ``rounds`` blocks each."""
    with contextlib.ExitStack() as stack:
        sides = [_Side(f"I{i}", case) for i in range(n)]
        for side in sides:
            _prepare(side, ".", stack)
        return interleaved_block_medians(sides, case, rounds, block_s, rng)[0]


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
