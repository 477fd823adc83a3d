"""The layout study (issue 20), one command: how much of a workload's speed is where its
memory landed?

Per workload, in each of ``--processes`` fresh processes: K preparations in a fixed
allocation order (no pads: the same addresses in every process), then K in random layouts
(:class:`harness.layout.Layout`, seeded pads before the weights and the buffers), all bound;
then ``--rounds`` rounds, each timing one block of every preparation in a fresh random order
(a short synchronised re-warm before each). The analysis (:func:`analyse`, pure) reports the
SD between blocks of one preparation, between fixed-order preparations, between random
layouts, between processes, and the part of the fixed-order spread that repeats in every
process (shared/gpu.md, "Memory layout and autotuners").

    python -m benchmarks.layout_study torchvision.models:resnet50 \\
        torchvision.models:efficientnet_b0 --backend torch --option mode=graph \\
        --precision fp16 --shapes x:8x3x224x224 \\
        --processes 3 --instances 6 --rounds 12 --save layout-study.json
    python -m benchmarks.layout_study --load layout-study.json        # re-analyse

Only backends that place their memory themselves apply a layout (torch today); on the others
(ONNX Runtime on the CPU) the "random" preparations are prepared as allocated, like the fixed
ones, and the output says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.stats import pooled_variance

KINDS = ("fixed", "random")


# -- analysis: pure ------------------------------------------------------------------------
def _level_sd(means: Sequence[float], noise_var: float) -> float | None:
    """Method-of-moments SD of a level: the variance of its means less the part the levels
    below put into each mean (``noise_var``), floored at 0. None with fewer than two means."""
    if len(means) < 2:
        return None
    return math.sqrt(max(float(np.var(means, ddof=1)) - noise_var, 0.0))


def _two_way(means: np.ndarray, cell_noise: float) -> tuple[float | None, float]:
    """Fixed-order preparations' means (processes x positions, logs), a two-way layout
    without replication: the SD of the per-position offsets that every process shares, and
    the interaction variance (a preparation's own offset plus its blocks' noise, at least
    ``cell_noise``)."""
    p, k = means.shape
    if p < 2 or k < 2:
        return None, cell_noise
    centred = means - means.mean(axis=1, keepdims=True)          # process levels removed
    cols = centred.mean(axis=0)
    interaction = max(float(((centred - cols) ** 2).sum() / ((p - 1) * (k - 1))), cell_noise)
    return _level_sd(cols.tolist(), interaction / p), interaction


def analyse(workload: Mapping[str, Any]) -> dict[str, Any]:
    """The variance components of one workload's raw data (``processes``: per process a list
    of ``preparations``, each ``kind`` "fixed"/"random", ``index`` (allocation order within
    its kind), ``applied`` (the backend honoured the layout) and ``blocks_ms`` (block
    medians, one per round)). All SDs are of log time (relative; 0.01 = 1 %); each level's
    spread is what its means vary by less what the levels below contribute."""
    procs = workload["processes"]
    means: dict[str, list[list[float]]] = {kind: [] for kind in KINDS}
    blocks = []
    for proc in procs:
        per_kind: dict[str, list[tuple[int, float]]] = {kind: [] for kind in KINDS}
        for prep in proc["preparations"]:
            x = np.log(np.asarray(prep["blocks_ms"], dtype=float))
            blocks.append(x)
            per_kind[prep["kind"]].append((int(prep["index"]), float(x.mean())))
        for kind in KINDS:                         # in allocation order within the kind
            means[kind].append([m for _, m in sorted(per_kind[kind])])
    within = pooled_variance(blocks)[0]
    rounds = float(np.mean([len(x) for x in blocks]))
    cell = within / rounds                          # the blocks' part of a preparation mean
    out: dict[str, Any] = {"processes": len(procs), "rounds": rounds,
                           "between_blocks_sd": math.sqrt(within)}
    noise: dict[str, float] = {}                    # per kind: a process mean's noise
    for kind in KINDS:
        k = min((len(m) for m in means[kind]), default=0)
        out[f"{kind}_instances"] = k
        pooled = pooled_variance(means[kind])[0] if k > 1 else float("nan")
        # between preparations within a process (the process's own level removed)
        out[f"between_{kind}_sd"] = (math.sqrt(max(pooled - cell, 0.0))
                                     if math.isfinite(pooled) else None)
        if k and kind == "fixed":
            # the pattern repeats in every process: only the interaction varies a mean
            pattern, interaction = _two_way(np.array([m[:k] for m in means[kind]]), cell)
            out["fixed_pattern_sd"] = pattern
            noise[kind] = interaction / k
        elif k and math.isfinite(pooled):
            noise[kind] = max(pooled, cell) / k
    if "fixed" not in noise:
        out["fixed_pattern_sd"] = None
    # Between processes: a process's level is the mean over the kinds of its preparations'
    # means; what the preparations put into it is the kinds' noise, averaged.
    kinds = list(noise)
    proc_means = [float(np.mean([np.mean(means[kind][p]) for kind in kinds]))
                  for p in range(len(procs))] if kinds else []
    out["between_processes_sd"] = _level_sd(
        proc_means, sum(noise.values()) / len(kinds) ** 2) if kinds else None
    applied = [p.get("applied") for proc in procs for p in proc["preparations"]
               if p["kind"] == "random"]
    out["layouts_applied"] = bool(applied) and all(applied)
    return out


def report(data: Mapping[str, Any]) -> str:
    """The study's table, one line per workload, and what the figures mean."""
    lines = ["| workload | processes x (fixed + random) x rounds | between blocks | between "
             "fixed-order preparations | of which repeats in every process | between random "
             "layouts | between processes |", "|---|---|---|---|---|---|---|"]
    notes = []
    pct = lambda v: "–" if v is None else f"{v:.3%}"  # noqa: E731
    for w in data["workloads"]:
        a = analyse(w)
        lines.append(f"| {w['case']} | {a['processes']} x ({a['fixed_instances']} + "
                     f"{a['random_instances']}) x {a['rounds']:g} | "
                     f"{pct(a['between_blocks_sd'])} | {pct(a['between_fixed_sd'])} | "
                     f"{pct(a['fixed_pattern_sd'])} | {pct(a['between_random_sd'])} | "
                     f"{pct(a['between_processes_sd'])} |")
        if not a["layouts_applied"]:
            notes.append(f"{w['case']}: the {w.get('backend', 'backend')} backend applies no "
                         "layout: its 'random' preparations were placed as allocated, so "
                         "their spread is only that of repeated preparations")
    return "\n".join(lines + [""] + [f"note: {n}" for n in notes] + [
        "SDs of log time (relative), method of moments: each level's spread less what the "
        "level below contributes, floored at 0."])


# -- measuring (runs in the worker processes) ------------------------------------------------
def measure_process(spec: Mapping[str, Any], instances: int, rounds: int, block_s: float,
                    seed: int) -> dict[str, Any]:
    """One process's preparations and their block medians (this process must be fresh:
    the fixed-order preparations come first, so their addresses repeat in every process)."""
    from harness.ab.measure import _prepare, _Side
    from harness.layout import Layout

    case = _case(spec)
    rng = np.random.default_rng(seed)
    plan = [("fixed", i, None) for i in range(instances)] + [
        ("random", i, Layout(seed * 4096 + i)) for i in range(instances)]
    with contextlib.ExitStack() as stack:
        sides = []
        for kind, i, layout in plan:
            side = _Side(f"{kind}{i}", case)
            _prepare(side, ".", stack, layout)
            sides.append(side)
        medians, count = interleaved_block_medians(sides, case, rounds, block_s, rng)
        return {"seed": seed, "block_samples": count, "preparations": [
            {"kind": kind, "index": i, "seed": None if layout is None else layout.seed,
             "applied": layout is not None and str(side.info["layout"]).startswith("random"),
             "blocks_ms": m} for (kind, i, layout), side, m in zip(plan, sides, medians,
                                                                   strict=True)]}


def interleaved_block_medians(sides: Sequence[Any], case: Any, rounds: int, block_s: float,
                              rng: np.random.Generator) -> tuple[list[list[float]], int]:
    """Prepared A/B sides bound to the very same inputs, warmed, then timed in ``rounds``
    rounds of one block each (a fresh random order per round, a short synchronised re-warm
    before each block): every side's block medians (ms), and the samples per block (the
    slowest side's, so every block is as long)."""
    from harness.ab.measure import block_sample_count
    from harness.scenario.schema import Warmup
    from harness.timing.measure import warm_up

    for side in sides:
        side.info["feed"] = sides[0].info["feed"]
        side.bind()
        warm_up(side.warm, case.warmup)
    counts = []
    for side in sides:
        t, n, _ = warm_up(side.warm, Warmup(min_time=0.05, max_time=0.2, min_iterations=5))
        counts.append(block_sample_count(block_s, t / n,
                                         getattr(side.timer, "runs_per_sample", 1), 20))
    count = min(counts)
    rewarm = Warmup(min_time=0.02, max_time=0.1, min_iterations=2)
    medians: list[list[float]] = [[] for _ in sides]
    for _ in range(rounds):
        for j in rng.permutation(len(sides)):
            warm_up(sides[j].warm, rewarm)
            samples = sides[j].timer.sample(sides[j].step, count)
            medians[j].append(float(np.median(samples)) * 1e3)
    return medians, count


def _case(spec: Mapping[str, Any]) -> Any:
    from harness.adhoc import bench_case

    return bench_case(spec["model"], backend=spec["backend"], shapes=spec.get("shapes"),
                      precision=spec.get("precision", "fp32"), options=spec.get("options"),
                      warmup=spec.get("warmup", "300ms"))


def run_study(specs: Sequence[Mapping[str, Any]], processes: int, instances: int, rounds: int,
              block_s: float, seed: int) -> dict[str, Any]:
    """Each workload in ``processes`` fresh subprocesses, one after another."""
    out: dict[str, Any] = {"settings": {"processes": processes, "instances": instances,
                                        "rounds": rounds, "block_s": block_s, "seed": seed},
                           "workloads": []}
    for spec in specs:
        procs = []
        for p in range(processes):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "process.json"
                # a fresh interpreter per process: its allocation order starts from nothing
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                                json.dumps(dict(spec)), "--out", str(path), "--instances",
                                str(instances), "--rounds", str(rounds), "--block-s",
                                str(block_s), "--seed", str(seed * 1000 + p)], check=True)
                procs.append(json.loads(path.read_text()))
        out["workloads"].append({"case": _case(spec).id, **spec, "processes": procs})
    return out


def workload_specs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One workload per named model, all with the command line's backend, precision, shapes
    and ``--option`` values (the studies' shared arguments)."""
    from harness.arguments import parse_option

    options = dict(parse_option(o) for o in args.option)
    return [{"model": m, "backend": args.backend, "precision": args.precision,
             "shapes": args.shapes, "options": options} for m in args.models]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", help="workloads: model sources (zoo:resnet, "
                   "torchvision.models:resnet50, a.onnx), all with the settings below")
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--shapes")
    p.add_argument("--option", action="append", default=[], help="KEY=VALUE, as in ab")
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--instances", type=int, default=6, help="preparations of each kind")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--block-s", type=float, default=0.06)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="write the raw data (JSON)")
    p.add_argument("--load", help="re-analyse saved raw data instead of measuring")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        result = measure_process(json.loads(args.worker), args.instances, args.rounds,
                                 args.block_s, args.seed)
        Path(args.out).write_text(json.dumps(result))
        return 0
    if args.load:
        data = json.loads(Path(args.load).read_text())
    else:
        if not args.models:
            p.error("name at least one model, or --load a saved study")
        data = run_study(workload_specs(args), args.processes, args.instances, args.rounds,
                         args.block_s, args.seed)
        if args.save:
            Path(args.save).write_text(json.dumps(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
