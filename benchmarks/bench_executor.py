"""What the Dask executor costs, and where a run's time outside measuring goes.

1. A 50-case CPU matrix (tiny ONNX Runtime cases: zoo:transformer, ``--quick``) run in-process
   and on a ``distributed.LocalCluster`` of 2 workers: wall time, time inside measuring (sum of
   warm-up + measuring), and the overhead per case = (wall x parallelism - measuring) / cases.
   The executor's cost is its overhead per case minus the in-process one (target: <= 5 % of
   the measuring time, or <= 50 ms per case).
2. cProfile of a 24-case quick in-process run: cumulative seconds in the steps around
   measuring (model resolution, input generation, engine preparation, result writing, ...).

    python benchmarks/bench_executor.py [--cases 50] [--workers 2] [--profile-cases 24]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
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
    select = [c.id for c in api.list_cases([scenario])][:cases]
    t0 = time.perf_counter()
    outcome = api.run([scenario], out_dir=out, baselines=out / "b", quick=True,
                      executor=executor, select=select)
    wall = time.perf_counter() - t0
    run = outcome.run
    measuring = sum((c.timing.get("measure_s") or 0) + (c.timing.get("warmup_s") or 0)
                    for c in run.cases)
    assert all(c.status == "ok" for c in run.cases), [c.error for c in run.cases]
    return {"wall": wall, "measuring": measuring, "n": len(run.cases),
            "startup": sum(run.startup_s.values()), "cluster": run.startup_s.get("dask", 0.0)}


def overhead(r: dict, parallel: int, with_cluster: bool = True) -> float:
    wall = r["wall"] - (0.0 if with_cluster else r["cluster"])
    return (wall * parallel - r["measuring"]) / r["n"]


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
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile-cases", type=int, default=24)
    args = ap.parse_args()
    from harness.scale.dask_executor import DaskExecutor

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = matrix(folder, args.cases)
        one(scenario, folder / "warm", cases=2)          # zoo model built and cached first
        inproc = one(scenario, folder / "inproc")
        dask = one(scenario, folder / "dask", DaskExecutor(workers=args.workers))
        if "--keep" in sys.argv:
            print(folder)
        rows = profile(scenario, folder / "prof", args.profile_cases)

    print(f"\n{args.cases}-case CPU matrix (zoo:transformer, --quick), in-process vs Dask "
          f"LocalCluster({args.workers} workers)")
    print(f"{'executor':<28}{'wall s':>9}{'measuring s':>13}{'overhead/case ms':>18}"
          f"{'overhead/measuring':>20}")
    for name, r, par, cl in (("in-process", inproc, 1, True),
                             (f"dask x{args.workers} (incl. cluster)", dask, args.workers, True),
                             (f"dask x{args.workers} (excl. cluster)", dask, args.workers, False)):
        o = overhead(r, par, cl)
        print(f"{name:<28}{r['wall']:>9.2f}{r['measuring']:>13.2f}{o * 1e3:>18.1f}"
              f"{o * r['n'] / r['measuring']:>19.1%}")
    added = overhead(dask, args.workers) - overhead(inproc, 1)
    added_nc = overhead(dask, args.workers, False) - overhead(inproc, 1)
    print(f"executor adds per case: {added * 1e3:.1f} ms incl. cluster start-up "
          f"({dask['cluster']:.2f} s), {added_nc * 1e3:.1f} ms excl. "
          f"(= {added_nc * dask['n'] / dask['measuring']:.1%} of measuring); target <= 50 ms "
          "or <= 5 %")
    print(f"speed-up of the wall time: {inproc['wall'] / dask['wall']:.2f}x")
    print(f"\ncProfile of a {args.profile_cases}-case quick in-process run (cumulative s)")
    print(f"{'step':<40}{'cum s':>8}{'calls':>7}{'per case ms':>13}")
    for label, cum, calls in rows:
        print(f"{label:<40}{cum:>8.3f}{calls:>7}{cum / args.profile_cases * 1e3:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
