"""spin:10's process state (issue 20): where does a process's level of a 10 µs spin come from?

In sessions 27-29 the median of the calibration spin at 10 µs (``ab --processes``, CUDA
graph, one kernel per replay) took a per-process level: within one process every preparation
agreed, between fresh processes the medians clustered ~1 % apart, and an A/B whose few
processes a side drew unlike levels ended undecided. Each spin kernel claims a slot of its
ring with an atomic and stores its two ``%globaltimer`` stamps there at its end; the ring is
one allocation per preparation, and a preparation freed before the next gets the same memory
back, so every preparation of a process writes the same pages. This study separates the
candidates:

* ``recording``: R preparations alive at once, each its own ring (own pages), timed
  interleaved in rounds. Levels that differ between the rings *within* one process put the
  state in where the ring lies; levels shared by all of them put it in the process;
* ``silent``: preparations whose kernel records nothing (ring capacity 0: no atomic, no
  stores, the same spin and launch). A process state that stays here is not the ring's;
* per preparation, the kernels' own in-kernel durations (``%globaltimer``, end - start)
  beside the event timer's: the state inside the kernel body moves both, the state in the
  launch, the end-of-kernel stores or the events moves only the timer;
* ``--modes per-iteration,batched``: every preparation once per timing mode, so a
  process's level with two events around each replay sits beside its level with two
  events around 20 replays (what of it rides with the events).

Session 29 (H200, docs/verdicts.md "Session 29"): the in-kernel time was 10.016 µs in every
preparation of 44 processes; the level (SD 1.4 % between processes) was shared by the
silent preparations, and batching cut it from 0.20 to 0.083 µs per replay.

Every process prints one JSON line; the parent keeps them all (``--save``, raw per-round
medians included) and prints a table.

    python -m benchmarks.device.spin_state --processes 16 --save spin-state.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from statistics import median
from typing import Any

import numpy as np

from harness.fsutil import atomic_write_json

BATCH = 20      # replays between the two events of a batched sample
KINDS = [f"{k} {m}" for m in ("per-iteration", "batched") for k in ("recording", "silent")]


def child(kernel_us: float, recording: int, silent: int, rounds: int, samples: int,
          modes: list[str]) -> dict:
    from harness import gpu
    from harness.backends.calibration import CalibrationBackend
    from harness.scenario.schema import Timing
    from harness.timing.cuda import CudaTimer

    stream = gpu.harness_stream()
    preps: list[dict[str, Any]] = []
    for i, mode in ((i, m) for i in range(recording + silent) for m in modes):
        eng = CalibrationBackend.engine(kernel_us=kernel_us)
        eng.activate()
        eng.set_stream(stream)
        kind = "recording" if i < recording else "silent"
        if kind == "silent":
            eng.ring.capacity = 0   # bound into the launch arguments: nothing recorded
        eng.bind({})
        timing = Timing(cuda_graph=True, mode=mode, batch_iterations=BATCH)
        timer = CudaTimer(timing, stream=stream, engine=eng)
        step = timer.prepare(eng.run)
        preps.append({"kind": kind, "mode": mode, "engine": eng, "timer": timer, "step": step,
                      "ring_va": int(eng.ring.data.handle),
                      "counter_va": int(eng.ring.counter.handle),
                      "rounds": [], "samples_us": []})
    for p in preps:                                   # warm every graph, then forget the warm-up
        p["timer"].sample(p["step"], samples)
        if p["kind"] == "recording":
            p["engine"].on_measure_start()
    for r in range(rounds):
        order = preps if r % 2 == 0 else preps[::-1]
        for p in order:
            xs = [s * 1e6 for s in p["timer"].sample(p["step"], samples)]
            p["rounds"].append(median(xs))
            p["samples_us"].extend(xs)
    out = []
    for p in preps:
        row = {"kind": p["kind"], "mode": p["mode"], "ring_va": hex(p["ring_va"]),
               "counter_va": hex(p["counter_va"]),
               "timer_median_us": median(p["samples_us"]), "timer_min_us": min(p["samples_us"]),
               "round_medians_us": p["rounds"]}
        if p["kind"] == "recording":
            ink = [ms * 1e3 for ms in p["engine"].in_kernel_ms()]
            # One kernel's start after the previous one's end, on the GPU's own clock: what
            # the GPU spends between two spins (events, graph launch), free of the timer.
            pairs = p["engine"].ring.read().astype(np.int64)
            gaps = (pairs[1:, 0] - pairs[:-1, 1]) * 1e-3
            row |= {"in_kernel_median_us": median(ink), "in_kernel_min_us": min(ink),
                    "in_kernel_n": len(ink), "gap_median_us": float(np.median(gaps))}
        out.append(row)
        p["timer"].close()
        p["engine"].deactivate()
    return {"preparations": out}


def _kind(prep: dict) -> str:
    return f"{prep['kind']} {prep.get('mode', 'per-iteration')}"


def table(processes: list[dict]) -> str:
    lines = ["| process | kind | timer median µs (per preparation) | in-kernel median µs |",
             "|---|---|---|---|"]
    for k, proc in enumerate(processes):
        for kind in KINDS:
            rows = [p for p in proc["preparations"] if _kind(p) == kind]
            if not rows:
                continue
            t = " ".join(f"{p['timer_median_us']:.3f}" for p in rows)
            ink = " ".join(f"{p['in_kernel_median_us']:.3f}" for p in rows
                           if "in_kernel_median_us" in p) or "-"
            lines.append(f"| {k + 1} | {kind} | {t} | {ink} |")
    return "\n".join(lines)


def spread(processes: list[dict], kind: str, key: str) -> str:
    """Between-process and within-process ranges of one figure, in % of the grand median."""
    per = [[p[key] for p in proc["preparations"] if _kind(p) == kind and key in p]
           for proc in processes]
    per = [xs for xs in per if xs]
    if not per:
        return f"{kind} {key}: none"
    levels = [median(xs) for xs in per]
    grand = median(levels)
    within = max(max(xs) - min(xs) for xs in per)
    return (f"{kind} {key}: process levels {min(levels):.3f}-{max(levels):.3f} µs "
            f"(range {100 * (max(levels) - min(levels)) / grand:.2f} %), largest range within "
            f"one process {100 * within / grand:.2f} %")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processes", type=int, default=16)
    ap.add_argument("--kernel-us", type=float, default=10.0)
    ap.add_argument("--recording", type=int, default=6, help="preparations alive at once, each "
                    "with its own ring")
    ap.add_argument("--silent", type=int, default=2, help="preparations whose kernel records "
                    "nothing")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--samples", type=int, default=400, help="samples per block")
    ap.add_argument("--modes", default="per-iteration", help="timing modes, comma-separated: "
                    f"per-iteration, batched ({BATCH} replays a sample); every preparation "
                    "is made once per mode")
    ap.add_argument("--save", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    knobs = (a.kernel_us, a.recording, a.silent, a.rounds, a.samples, a.modes.split(","))
    if a.child:
        print(json.dumps(child(*knobs)))
        return 0
    processes = []
    for k in range(a.processes):
        cmd = [sys.executable, "-m", "benchmarks.device.spin_state", "--child",
               "--kernel-us", str(a.kernel_us), "--recording", str(a.recording),
               "--silent", str(a.silent), "--rounds", str(a.rounds), "--samples", str(a.samples),
               "--modes", a.modes]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"process {k + 1} failed (rc {done.returncode}): {done.stderr[-800:]}",
                  file=sys.stderr)
            continue
        processes.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if a.save:          # raw data kept as it comes: a later failure loses nothing
            atomic_write_json(a.save, {"settings": vars(a), "processes": processes})
    print(table(processes))
    for kind in KINDS:
        print(spread(processes, kind, "timer_median_us"))
    for key in ("in_kernel_median_us", "gap_median_us"):
        print(spread(processes, KINDS[0], key))
        print(spread(processes, KINDS[2], key))
    return 0 if processes else 1


if __name__ == "__main__":
    sys.exit(main())
