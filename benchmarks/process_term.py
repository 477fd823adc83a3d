"""The process-term study (issue 20): what do one case's layouts share within one process?

Stored runs prepare a case once per layout, one preparation after another, each a fresh
preparation (weights included) at its own seeded layout. On the H200 the run means of
squeezenet1_1 and mobilenet_v3_small still scatter ~0.35 % more between processes than their
layouts explain (docs/verdicts.md, "What no layout count fixes"), and more layouts cannot
remove such a term. This study asks where it lives. Every process prepares the *same* K
layout seeds, in order, ``--passes`` times (each preparation released before the next, as in
a stored run), and times a few blocks of each. A two-way layout (processes x seeds) of the
preparation means then separates

* the seed's own offset (the pattern the layout seed sets: the same in every process),
* the process term (a level every preparation of one process shares: what the seed does
  not set),
* the interaction (a preparation's own offset in this process),

and repeats of a seed within one process show whether a preparation repeats itself there.
Processes that prepare the same seeds in the same order allocate alike, so a term that comes
from where a process's *earlier* allocations put its memory cannot show between them; in a
stored run the processes differ in what ran before (other cases, their order, the library
workspaces the first case allocated). The ``prefix`` modes stand in for that history: each
process first takes a block of device memory of random size (0 to ``--prefix-gib``, drawn
from the OS, not the seeds) and holds it throughout. The ``warmup`` modes stand in for a
run's earlier *preparations*: each process first prepares the case at a layout seed drawn
from the OS, times it briefly and releases it. Modes, each in its own fresh processes,
taken in turn:

* ``pads``: no prefix (the control);
* ``prefix``: the same after a per-process prefix (a process term here, and not in
  ``pads``, says the layout's pads do not sample what the history moves);
* ``warmup``: the same after a per-process random preparation (a process term here says an
  earlier preparation leaves state that sets the level of the later ones: the run-level
  term of the replay panel, session 13);
* ``warmup+clear``: the same, and after every preparation torch's cuBLAS workspaces are
  released too (one is kept per handle and stream for the life of the process, and the
  harness runs every preparation on its one stream, so the process's first matrix product
  places it): the term gone here names the state and its cure.

Session 13 (H200, squeezenet1_1) ran a third mode, ``prefix+hold``: each preparation first
held a seeded share (up to 8 GiB) of fresh device memory, so that its allocations landed on
other physical pages. The prefix moved only a process's first preparation (0.5 % between
processes there, 0.08 % for the later ones), the process term stayed at 0.05 % with or
without the hold, and the hold was removed (docs/verdicts.md, "Where the process term
lives"); its rows stay readable with ``--load``.

    python -m benchmarks.process_term torchvision.models:efficientnet_b0 --backend torch \\
        --option mode=graph --precision fp16 --shapes x:8x3x224x224 \\
        --modes pads,warmup,warmup+clear --processes 5 --save process-term.json
    python -m benchmarks.process_term --load process-term.json          # re-analyse
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.stats import pooled_variance

MODES = ("pads", "prefix", "warmup", "warmup+clear")
MIB = 1 << 20


# -- analysis: pure ------------------------------------------------------------------------
def components(procs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Variance components (SDs of log time; 0.01 = 1 %) of one mode's processes. Each
    process: ``preparations``, each with ``seed_index``, ``pass`` and ``blocks_ms``."""
    blocks, cells = [], []
    for proc in procs:
        by_seed: dict[int, list[float]] = {}
        for prep in proc["preparations"]:
            x = np.log(np.asarray(prep["blocks_ms"], dtype=float))
            blocks.append(x)
            by_seed.setdefault(int(prep["seed_index"]), []).append(float(x.mean()))
        cells.append(by_seed)
    within = pooled_variance(blocks)[0]
    per_prep = within / float(np.mean([len(b) for b in blocks]))
    # repeats of one seed in one process (passes): a preparation's own offset there
    repeats = [v for cell in cells for v in cell.values() if len(v) > 1]
    rep_var = pooled_variance(repeats)[0] if repeats else float("nan")
    seeds = sorted(set.intersection(*(set(c) for c in cells))) if cells else []
    out: dict[str, Any] = {"processes": len(procs), "seeds": len(seeds),
                           "between_blocks_sd": math.sqrt(within),
                           "repeat_sd": _sd(rep_var - per_prep)}
    if len(procs) < 2 or len(seeds) < 2:
        return out
    passes = float(np.mean([len(c[s]) for c in cells for s in seeds]))
    m = np.array([[np.mean(c[s]) for s in seeds] for c in cells])       # processes x seeds
    p, k = m.shape
    rows, cols, grand = m.mean(axis=1), m.mean(axis=0), m.mean()
    resid = m - rows[:, None] - cols[None, :] + grand
    inter = float((resid ** 2).sum() / ((p - 1) * (k - 1)))
    noise = max(rep_var / passes if math.isfinite(rep_var) else per_prep, per_prep)
    # the same position (pass, seed) across processes: where the history shows, if anywhere
    at: dict[tuple[int, int], list[float]] = {}
    for proc in procs:
        for prep in proc["preparations"]:
            at.setdefault((int(prep["pass"]), int(prep["seed_index"])), []).append(
                float(np.log(np.asarray(prep["blocks_ms"], dtype=float)).mean()))
    spread = {pos: math.sqrt(float(np.var(v, ddof=1))) for pos, v in at.items() if len(v) > 1}
    first = min(spread) if spread else None
    out.update({
        "first_position_sd": spread.get(first) if first else None,
        "other_positions_sd": (float(np.median([v for pos, v in spread.items() if pos != first]))
                               if len(spread) > 1 else None),
        "process_sd": _sd(float(np.var(rows, ddof=1)) - inter / k),
        "seed_sd": _sd(float(np.var(cols, ddof=1)) - inter / p),
        "interaction_sd": _sd(inter - noise),
        "process_means_pct": [round(float(100 * (r - grand)), 3) for r in rows],
    })
    return out


def _sd(var: float) -> float | None:
    return math.sqrt(max(var, 0.0)) if math.isfinite(var) else None


def report(data: Mapping[str, Any]) -> str:
    """One line per workload and mode."""
    pct = lambda v: "–" if v is None else f"{v:.3%}"  # noqa: E731
    lines = ["| workload | mode | processes x seeds | between blocks | same seed, same process "
             "| seed pattern | **process term** | interaction | first preparation "
             "| later ones | process levels (%) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in data["workloads"]:
        for mode in dict.fromkeys(p["mode"] for p in w["processes"]):   # as measured
            procs = [p for p in w["processes"] if p["mode"] == mode]
            a = components(procs)
            lines.append(f"| {w['case']} | {mode} | {a['processes']} x {a['seeds']} | "
                         f"{pct(a['between_blocks_sd'])} | {pct(a['repeat_sd'])} | "
                         f"{pct(a.get('seed_sd'))} | {pct(a.get('process_sd'))} | "
                         f"{pct(a.get('interaction_sd'))} | {pct(a.get('first_position_sd'))} | "
                         f"{pct(a.get('other_positions_sd'))} | {a.get('process_means_pct', '')} |")
    return "\n".join([*lines, "", "SDs of log time (relative), method of moments, floored at 0. "
                              "process term: the level every preparation of one process "
                              "shares beyond what its seeds set. first preparation / later "
                              "ones: the SD between processes of one position (pass, seed) in "
                              "the order: the process's first, and the median of the others."])


# -- measuring (runs in the worker processes) ------------------------------------------------
def _pointers(engine: Any) -> dict[str, int | None]:
    """Where the first weight and the first input landed (torch engines; None elsewhere)."""
    out: dict[str, int | None] = {"weight": None, "input": None}
    with contextlib.suppress(Exception):
        out["weight"] = int(next(engine.module.parameters()).data_ptr())
    with contextlib.suppress(Exception):
        out["input"] = int(engine._args[0].data_ptr())
    return out


def measure_process(spec: Mapping[str, Any], mode: str, seeds: Sequence[int], passes: int,
                    blocks: int, block_s: float, prefix_gib: float) -> dict[str, Any]:
    """One fresh process: every seed prepared ``passes`` times, one after another."""
    from benchmarks.layout_study import _case, interleaved_block_medians
    from harness.ab.measure import _prepare, _Side
    from harness.layout import Layout

    case = _case(spec)
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    prefix_bytes, prefix, warmup_seed = 0, None, None
    if mode == "prefix":
        import torch

        prefix_bytes = int(rng.integers(0, int(prefix_gib * 1024) + 1)) * MIB
        prefix = torch.empty(prefix_bytes, dtype=torch.uint8, device="cuda")  # noqa: F841
    if mode.startswith("warmup"):
        # a stored run's earlier preparations (other cases, its own first layouts), drawn
        # from the OS: prepared, timed briefly and released before the fixed seeds
        warmup_seed = int(rng.integers(0, 2 ** 32))
        with contextlib.ExitStack() as stack:
            side = _Side("warmup", case)
            _prepare(side, ".", stack, Layout(warmup_seed))
            interleaved_block_medians([side], case, 1, block_s, rng)
        _release(clear=mode.endswith("+clear"))
    preps = []
    for r in range(passes):
        for k, seed in enumerate(seeds):
            with contextlib.ExitStack() as stack:
                side = _Side(f"s{k}", case)
                t0 = time.perf_counter()
                _prepare(side, ".", stack, Layout(seed))
                prep_s = time.perf_counter() - t0
                medians, count = interleaved_block_medians([side], case, blocks, block_s, rng)
                memory = side.engine.memory() if hasattr(side.engine, "memory") else {}
                preps.append({"seed_index": k, "seed": seed, "pass": r,
                              "pad_bytes": memory.get("harness_layout_pad_bytes"),
                              "prepare_s": prep_s, "samples_per_block": count,
                              "pointers": _pointers(side.engine), "blocks_ms": medians[0]})
            _release(clear=mode.endswith("+clear"))
    return {"mode": mode, "prefix_bytes": prefix_bytes, "warmup_seed": warmup_seed,
            "preparations": preps}


def _release(clear: bool) -> None:
    """Give a released preparation's memory back to the driver, as the harness does; with
    ``clear``, also the cuBLAS workspaces torch keeps per handle and stream for the whole
    process (the harness's one stream: without the release, the workspace the first
    preparation placed serves every later one)."""
    import gc

    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()
        if clear and hasattr(torch._C, "_cuda_clearCublasWorkspaces"):
            torch._C._cuda_clearCublasWorkspaces()
        torch.cuda.empty_cache()


def run_study(specs: Sequence[Mapping[str, Any]], processes: int, seeds: int, passes: int,
              blocks: int, block_s: float, prefix_gib: float,
              modes: Sequence[str], budget_s: float, save: str | None) -> dict[str, Any]:
    """Each workload in ``processes`` rounds of fresh subprocesses, one per mode in turn (so a
    study cut short by ``budget_s`` keeps the modes balanced); saved after every process."""
    from benchmarks.layout_study import _case

    seed_list = [int.from_bytes(os.urandom(4), "little") for _ in range(seeds)]
    out: dict[str, Any] = {"settings": {"processes": processes, "seeds": seed_list,
                                        "passes": passes, "blocks": blocks, "block_s": block_s,
                                        "prefix_gib": prefix_gib,
                                        "modes": list(modes)},
                           "workloads": []}
    start = time.monotonic()
    longest = 0.0
    for spec in specs:
        entry = {"case": _case(spec).id, **spec, "processes": []}
        out["workloads"].append(entry)
        for _ in range(processes):
            if time.monotonic() - start + longest * len(modes) > budget_s:
                break
            for mode in modes:
                t0 = time.monotonic()
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "process.json"
                    subprocess.run([sys.executable, "-m", "benchmarks.process_term", "--worker",
                                    json.dumps(dict(spec)), "--mode", mode, "--out", str(path),
                                    "--seed-list", ",".join(map(str, seed_list)),
                                    "--passes", str(passes), "--blocks", str(blocks),
                                    "--block-s", str(block_s),
                                    "--prefix-gib", str(prefix_gib)],
                                   check=True)
                    entry["processes"].append(json.loads(path.read_text()))
                longest = max(longest, time.monotonic() - t0)
                print(f"{entry['case']} {mode}: {time.monotonic() - t0:.1f} s", flush=True)
                if save:
                    tmp_path = Path(save + ".tmp")
                    tmp_path.write_text(json.dumps(out))
                    tmp_path.replace(save)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*")
    p.add_argument("--backend", default="torch")
    p.add_argument("--precision", default="fp16")
    p.add_argument("--shapes")
    p.add_argument("--option", action="append", default=[], help="KEY=VALUE, as in ab")
    p.add_argument("--processes", type=int, default=5, help="processes per mode")
    p.add_argument("--seeds", type=int, default=6, help="layout seeds (the same in every process)")
    p.add_argument("--passes", type=int, default=2, help="preparations of each seed per process")
    p.add_argument("--blocks", type=int, default=3, help="timed blocks per preparation")
    p.add_argument("--block-s", type=float, default=0.06)
    p.add_argument("--prefix-gib", type=float, default=2.0,
                   help="the per-process prefix's ceiling in the prefix modes")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--budget-s", type=float, default=1e9)
    p.add_argument("--save")
    p.add_argument("--load")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--mode", help=argparse.SUPPRESS)
    p.add_argument("--seed-list", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        seeds = [int(s) for s in args.seed_list.split(",")]
        Path(args.out).write_text(json.dumps(measure_process(
            json.loads(args.worker), args.mode, seeds, args.passes, args.blocks, args.block_s,
            args.prefix_gib)))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    bad = sorted(set(modes) - set(MODES))
    if bad:
        p.error(f"--modes: unknown {bad}; expected some of {list(MODES)}")
    if not (args.load or args.models):
        p.error("name at least one model, or --load a saved study")
    if args.load:
        data = json.loads(Path(args.load).read_text())
    else:
        from benchmarks.layout_study import workload_specs

        data = run_study(workload_specs(args), args.processes, args.seeds, args.passes,
                         args.blocks, args.block_s, args.prefix_gib, modes,
                         args.budget_s, args.save)
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
