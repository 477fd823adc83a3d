"""What the Dask executor costs, and where a run's time outside measuring goes.

1. A 50-case CPU matrix (tiny ONNX Runtime cases: zoo:transformer, ``--quick``) run
   in-process and on a ``distributed.LocalCluster`` of ``--workers`` worker processes,
   ``--repeat`` times, the two interleaved (so that a change in the machine's load reaches
   both). The fixed costs are shown apart, once per run: starting the cluster
   (``startup_s["dask"]``), the workers' start-up before their first case
   (``startup_s["dask_workers"]``: the harness's modules, backend start-up, the model sources'
   modules, the platform fingerprint; all workers at once) and closing the cluster; the
   in-process run's backend start-up alike. What is left is the case phase. The executor's
   cost per case = (case-phase wall x workers - in-process case-phase wall) / cases: the same
   matrix's cases, so a measuring time that grows on the cluster (a first case that imports,
   a profiler thread in the worker) counts as the executor's, as it should; given of the case
   phase and of the whole wall time, in ms and in % of the in-process measuring time (target:
   <= 5 %, or <= 50 ms per case). Also: time outside measuring per case, =
   (wall x workers - measuring) / cases. Medians over the repetitions, with [min, max].
2. cProfile of a 24-case quick in-process run: cumulative seconds in the steps around
   measuring (model resolution, input generation, engine preparation, result writing, ...).

    python benchmarks/bench_executor.py [--cases 50] [--workers 1] [--repeat 5]
                                        [--profile-cases 24]

Workers are spawned processes that import this file again (``__main__``), hence the guard.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness import api  # noqa: E402

# (label, function name as cProfile records it, file suffix)
STEPS = [
    ("backend start-up", "start_backends", "harness/runner.py"),
    ("model resolution (zoo model, sha256)", "resolve_source", "harness/models/source.py"),
    ("model digest", "model_digest", "harness/models/source.py"),
    ("input generation", "make_feed", "harness/timing/session.py"),
    ("warm-up + measuring", "measure", "harness/timing/measure.py"),
    ("summary statistics", "_record", "harness/runner.py"),
    ("accuracy, memory, stages", "finish_case", "harness/pipeline/case.py"),
    ("result writing (ResultWriter.add)", "add", "harness/results.py"),
    ("judging", "judge", "harness/api.py"),
    ("report, summary, junit", "publish", "harness/api.py"),
    ("planning", "load_plan", "harness/plan.py"),
    ("whole run", "run", "harness/api.py"),
]


def matrix(folder: Path, cases: int) -> Path:
    """``cases`` tiny cases: transformer models at batch 1 and 2, sequence length 16."""
    models = "".join(f'\n[[model]]\nid = "t{i:02d}"\nsource = "zoo:transformer"\n'
                     f'shapes = "input_ids:{{batch}}x16"\n' for i in range((cases + 1) // 2))
    path = folder / "bench.toml"
    path.write_text('name = "bench"\n[defaults]\nbatch = [1, 2]\n'
                    'options = { onnxruntime = { threads = 1 } }\n' + models)
    return path


def one(scenario: Path, out: Path, executor=None, cases: int | None = None) -> dict:
    from harness.scale import dask_executor

    closing: list[float] = []
    owned_exit = dask_executor._OwnedClient.__exit__

    def timed_exit(self, *exc: object) -> None:      # closing the cluster, timed
        t0 = time.perf_counter()
        owned_exit(self, *exc)
        closing.append(time.perf_counter() - t0)

    select = [c.id for c in api.list_cases([scenario])][:cases]
    dask_executor._OwnedClient.__exit__ = timed_exit
    try:
        t0 = time.perf_counter()
        outcome = api.run([scenario], out_dir=out, baselines=out / "b", quick=True,
                          executor=executor, select=select)
        wall = time.perf_counter() - t0
    finally:
        dask_executor._OwnedClient.__exit__ = owned_exit
    run = outcome.run
    measuring = sum((c.timing.get("measure_s") or 0) + (c.timing.get("warmup_s") or 0)
                    for c in run.cases)
    assert all(c.status == "ok" for c in run.cases), [c.error for c in run.cases]
    startup = dict(run.startup_s)
    fixed = {"cluster": startup.pop("dask", 0.0), "workers": startup.pop("dask_workers", 0.0),
             "closing": sum(closing), "process": sum(startup.values())}
    return {"wall": wall, "measuring": measuring, "n": len(run.cases), "fixed": fixed}


def busy(r: dict, parallel: int, whole: bool) -> float:
    """Worker-seconds per case: of the whole wall time, or of the case phase (the wall time
    less the fixed start-up and closing costs)."""
    wall = r["wall"] - (0.0 if whole else sum(r["fixed"].values()))
    return wall * parallel / r["n"]


def outside(r: dict, parallel: int, whole: bool) -> float:
    """Seconds per case outside measuring."""
    return busy(r, parallel, whole) - r["measuring"] / r["n"]


def spread(values: list[float], scale: float = 1.0, fmt: str = ".1f") -> str:
    v = sorted(x * scale for x in values)
    return f"{statistics.median(v):{fmt}} [{v[0]:{fmt}}, {v[-1]:{fmt}}]"


def profile(scenario: Path, out: Path, cases: int) -> list[tuple[str, float, int]]:
    prof = cProfile.Profile()
    select = [c.id for c in api.list_cases([scenario])][:cases]
    prof.enable()
    api.run([scenario], out_dir=out, baselines=out / "b", quick=True, select=select)
    prof.disable()
    stats = pstats.Stats(prof).stats
    rows = []
    for label, name, suffix in STEPS:
        found = [(v[3], v[1]) for (file, _, func), v in stats.items()
                 if func == name and file.endswith(suffix)]
        cum = sum(f[0] for f in found)
        calls = sum(f[1] for f in found)
        rows.append((label, cum, calls))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile-cases", type=int, default=24)
    args = ap.parse_args()
    from harness.scale.dask_executor import DaskExecutor

    inproc, dask = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = matrix(folder, args.cases)
        one(scenario, folder / "warm", cases=2)          # zoo model built and cached first
        for i in range(args.repeat):
            inproc.append(one(scenario, folder / f"inproc{i}"))
            dask.append(one(scenario, folder / f"dask{i}", DaskExecutor(workers=args.workers)))
        rows = profile(scenario, folder / "prof", args.profile_cases) if args.profile_cases else []

    w = args.workers
    print(f"\n{args.cases}-case CPU matrix (zoo:transformer, --quick), in-process vs Dask "
          f"LocalCluster({w} worker{'s' * (w > 1)}), {args.repeat} repetitions: "
          "median [min, max]")
    print(f"{'':<34}{'in-process':>24}{'dask':>24}")
    for label, key, scale in (("wall s", "wall", 1), ("measuring s", "measuring", 1)):
        print(f"{label:<34}{spread([r[key] for r in inproc], scale, '.2f'):>24}"
              f"{spread([r[key] for r in dask], scale, '.2f'):>24}")
    for part in ("cluster", "workers", "closing", "process"):
        label = f"fixed: {part} s"
        print(f"{label:<34}{spread([r['fixed'][part] for r in inproc], 1, '.2f'):>24}"
              f"{spread([r['fixed'][part] for r in dask], 1, '.2f'):>24}")
    for whole in (False, True):
        label = "outside measuring ms/case" + (" (whole)" if whole else " (cases)")
        print(f"{label:<34}{spread([outside(r, 1, whole) for r in inproc], 1e3):>24}"
              f"{spread([outside(r, w, whole) for r in dask], 1e3):>24}")
    for whole in (False, True):
        added = [busy(d, w, whole) - busy(p, 1, whole)
                 for p, d in zip(inproc, dask, strict=True)]
        share = [a * p["n"] / p["measuring"] for a, p in zip(added, inproc, strict=True)]
        what = ("incl. the fixed start-up and closing costs" if whole else
                "in the case phase (fixed costs above, apart)")
        print(f"executor adds per case, {what}: {spread(added, 1e3)} ms = "
              f"{spread(share, 100)} % of measuring; target <= 50 ms or <= 5 %")
    speedup = [p["wall"] / d["wall"] for p, d in zip(inproc, dask, strict=True)]
    print(f"speed-up of the wall time: {spread(speedup, 1, '.2f')}x")
    if rows:
        print(f"\ncProfile of a {args.profile_cases}-case quick in-process run (cumulative s)")
        print(f"{'step':<40}{'cum s':>8}{'calls':>7}{'per case ms':>13}")
        for label, cum, calls in rows:
            print(f"{label:<40}{cum:>8.3f}{calls:>7}{cum / args.profile_cases * 1e3:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
