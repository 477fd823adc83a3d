"""False-alarm rate and detection power of the verdicts, measured (issues #5 and #8).

Two experiments, each judged by four rules side by side (benchmarks/rules.py):

``stored``  the stored-baseline verdict: a pool of baseline runs measured first (J of them
            are "accepted" per comparison), then current runs with injected slowdowns
            0 (A/A), +0.5, +1, +2, +5 %, each judged against the baseline runs.
``ab``      the interleaved A/B verdict: A (no slowdown) and B (slowdown s) measured in
            ABBA blocks within ``--seconds``; the same raw data also judged as if A were a
            stored baseline run, so the table shows what interleaving buys.

Data come from the GPU through the harness (a case: ``--backend calibration --option
kernel_us=1000``, the slowdown through ``--slowdown-option slowdown``; or a torch case,
``--backend torch --option mode=graph``, whose ``slowdown`` option appends a GPU spin sized to
that fraction of the model's time), or from a noise model matched to gpu.md
(``--simulate PRESET``).
``--save`` keeps the raw pool, ``--load`` re-judges it.

    python -m benchmarks.verdict_experiment stored --simulate spin-1ms
    python -m benchmarks.verdict_experiment ab --simulate spin-1ms --seconds 4
    python -m benchmarks.verdict_experiment ab --backend calibration --cuda-graph \\
        --option kernel_us=1000 --slowdown-option slowdown \\
        --trials 50 --seconds 4 --save reports/ab-calibration.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import rules
from benchmarks.noise_model import PRESETS, Simulator
from harness.ab.measure import ABSettings, make_block, measure_ab_series, summarize_sides
from harness.ab.schedule import block_order, order_text
from harness.baseline.verdict import VerdictPolicy
from harness.fsutil import atomic_write_json

SLOWDOWNS = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.05)


# -- data sources ------------------------------------------------------------------------
class Source:
    """Runs and A/B records at a given slowdown, simulated or measured."""

    def run(self, slowdown: float, seconds: float) -> np.ndarray: ...
    def pair(self, slowdown: float, seconds: float, seed: int) -> dict[str, Any]: ...
    def pairs(self, slowdown: float, seconds: float, seeds: list[int]
              ) -> list[dict[str, Any]]: ...
    def new_process(self) -> None: ...


class Simulated(Source):
    def pairs(self, slowdown: float, seconds: float, seeds: list[int]) -> list[dict[str, Any]]:
        return [self.pair(slowdown, seconds, seed) for seed in seeds]

    def __init__(self, preset: str, seed: int) -> None:
        self.sim = Simulator(PRESETS[preset], seed)
        self.name = f"simulated:{preset}"

    def new_process(self) -> None:
        self.sim.new_process()

    def run(self, slowdown: float, seconds: float) -> np.ndarray:
        x = self.sim.run(seconds, slowdown)
        self.sim.advance(1.0)
        return x

    def pair(self, slowdown: float, seconds: float, seed: int) -> dict[str, Any]:
        settings = ABSettings(duration_s=seconds, seed=seed)
        record: dict[str, Any] = {"id": "sim A vs B", "status": "ok", "blocks": [],
                                  "settings": {"tolerance": {}}, "a": {}, "b": {},
                                  "telemetry": None}
        order = block_order(settings.pairs, seed)
        record["order"] = order_text(order)
        self.sim.advance(1.0)
        for i, labels in enumerate(order):
            for label in labels:
                t0 = self.sim.t
                x = self.sim.run(settings.effective_block_s, slowdown if label == "B" else 0.0,
                                 warmup_s=settings.rewarm_s)
                record["blocks"].append(make_block(label, i, t0, self.sim.t, x))
        summarize_sides(record)
        return record


class Measured(Source):
    """Cases run through the harness on this machine (the GPU machine for the real table)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from harness.api import bench_case
        from harness.arguments import parse_option

        options = dict(parse_option(o) for o in args.option or [])
        case = bench_case(args.model, backend=args.backend, shapes=args.shapes,
                          precision=args.precision, options=options,
                          warmup=args.warmup, rel_ci=0.0)
        if args.cuda_graph:
            case = replace(case, timing=case.timing.model_copy(update={"cuda_graph": True}))
        self.case = case
        if args.slowdown_via == "none" and any(args.slowdowns):
            sys.exit("--slowdown-via none measures A/A only: give --slowdowns 0")
        self.args = args
        self.base_ms: float | None = None
        self.name = f"measured:{self.case.id} {options}"

    def new_process(self) -> None:     # one process here; run collections separately
        pass

    def _case(self, slowdown: float, seconds: float, label: str = "") -> Any:
        stop = self.case.stop.model_copy(update={"max_time": seconds, "min_time": seconds,
                                                 "rel_ci": 0.0})
        case = replace(self.case, stop=stop, id=f"{label}{self.case.id}")
        if self.args.slowdown_via == "delay":
            if self.base_ms is None:
                self.base_ms = float(np.median(self._measure(self.case, 1.0)))
            return replace(case, inject_delay=slowdown * self.base_ms / 1e3)
        return replace(case, options={**case.options, self.args.slowdown_option: slowdown})

    def _measure(self, case: Any, seconds: float) -> np.ndarray:
        from harness.runner import run_case

        result = run_case(case, str(Path.cwd()))
        if result.status != "ok":
            sys.exit(f"case {case.id} {result.status}: {result.error}")
        return np.asarray(result.samples_ms)

    def run(self, slowdown: float, seconds: float) -> np.ndarray:
        return self._measure(self._case(slowdown, seconds), seconds)

    def pair(self, slowdown: float, seconds: float, seed: int) -> dict[str, Any]:
        return self.pairs(slowdown, seconds, [seed])[0]

    def pairs(self, slowdown: float, seconds: float, seeds: list[int]) -> list[dict[str, Any]]:
        # Engines are prepared once per chunk: preparing (NVRTC, graph capture, settling)
        # costs several times the second of measuring that each comparison needs.
        cwd = str(Path.cwd())
        records = measure_ab_series(self._case(0.0, seconds, "A:"),
                                    self._case(slowdown, seconds, "B:"),
                                    [ABSettings(duration_s=seconds, seed=s,
                                                instances=self.args.instances) for s in seeds],
                                    cwd, cwd)
        for record in records:
            if record["status"] != "ok":
                sys.exit(f"A/B {record['status']}: {record['error']}")
        return records


# -- experiments -------------------------------------------------------------------------
def collect_stored(src: Source, args: argparse.Namespace) -> dict[str, Any]:
    """Baseline pool first (each run a new process when simulated: accepted on other days),
    then the current runs, slowdown levels shuffled in time."""
    rng = np.random.default_rng(args.seed)
    pool = []
    for _ in range(args.baseline_pool):
        src.new_process()
        pool.append(src.run(0.0, args.seconds).tolist())
    src.new_process()
    levels = [s for s in args.slowdowns for _ in range(args.trials)]
    rng.shuffle(levels)
    current = [{"slowdown": float(s), "samples_ms": src.run(s, args.seconds).tolist()}
               for s in levels]
    return {"kind": "stored", "source": src.name, "seconds": args.seconds,
            "baseline_pool": pool, "current": current}


def collect_ab(src: Source, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    # Chunks of --chunk comparisons of one level, in shuffled order: levels still alternate in
    # time, while each chunk's engines are prepared once.
    chunks = [(s, min(args.chunk, args.trials - k)) for s in args.slowdowns
              for k in range(0, args.trials, args.chunk)]
    rng.shuffle(chunks)
    pairs: list[dict[str, Any]] = []
    data = {"kind": "ab", "source": src.name, "seconds": args.seconds, "pairs": pairs}
    for s, n in chunks:
        seeds = [args.seed + len(pairs) + i for i in range(n)]
        pairs.extend({"slowdown": float(s), "record": rec}
                     for rec in src.pairs(float(s), args.seconds, seeds))
        if args.save:                      # a time-limited run still leaves its data behind
            atomic_write_json(args.save, data)
    return data


def _rate(flags: list[bool]) -> str:
    return f"{np.mean(flags):.0%}" if flags else "–"


def judge_stored(data: dict[str, Any], args: argparse.Namespace) -> str:
    policy = VerdictPolicy(alpha=args.alpha)
    rng = np.random.default_rng(args.seed + 1)
    pool = [np.asarray(x) for x in data["baseline_pool"]]
    js = [j for j in args.baseline_runs if j <= len(pool)]
    head = (["slowdown", "n"] + [f"harness J={j}" for j in js]
            + ["pytest-benchmark median:5%", "asv (1.10, p<0.002)", "samples MW p<0.01"])
    rows = []
    aa_groups: dict[int, list[Any]] = {j: [] for j in js}
    for s in sorted({c["slowdown"] for c in data["current"]}):
        cur = [np.asarray(c["samples_ms"]) for c in data["current"] if c["slowdown"] == s]
        row = [f"+{s:.2%}", str(len(cur))]
        picks = [[pool[k] for k in rng.choice(len(pool), max(js), replace=False)]
                 for _ in cur]
        for j in js:
            groups = [(p[:j], c) for p, c in zip(picks, cur, strict=True)]
            # judged one by one (per-case rate); A/A ones also in matrices below
            row.append(_rate([rules.harness_stored([g], args.tolerance, policy)[0]
                              for g in groups]))
            if s == 0:
                aa_groups[j] = groups
        last = [p[0] for p in picks]
        row.append(_rate([rules.pytest_benchmark_median(b, c) for b, c in zip(last, cur,
                                                                              strict=True)]))
        row.append(_rate([rules.asv_rule(b, c) for b, c in zip(last, cur, strict=True)]))
        row.append(_rate([rules.samples_mw(b, c) for b, c in zip(last, cur, strict=True)]))
        rows.append(row)
    out = _table(head, rows)
    for j, groups in aa_groups.items():
        m = args.matrix
        mats = [groups[i:i + m] for i in range(0, len(groups) - m + 1, m)]
        if mats:
            any_alarm = [any(rules.harness_stored(g, args.tolerance, policy)) for g in mats]
            out += (f"\nA/A per matrix of {m} cases (Holm), J={j}: {_rate(any_alarm)} of "
                    f"{len(mats)} matrices raised any alarm")
    return out


def judge_ab(data: dict[str, Any], args: argparse.Namespace) -> str:
    policy = VerdictPolicy(alpha=args.alpha)
    head = ["slowdown", "n", f"paired tol {args.tolerance:.1%}", "paired tol 0.2% (default)",
            "median MDC", "same data, stored verdict J=1", "pytest-benchmark median:5%",
            "asv (1.10, p<0.002)", "samples MW p<0.01"]
    rows = []
    for s in sorted({p["slowdown"] for p in data["pairs"]}):
        recs = [p["record"] for p in data["pairs"] if p["slowdown"] == s]
        a = [_side(r, "A") for r in recs]
        b = [_side(r, "B") for r in recs]
        judged = [rules.harness_paired([r], args.tolerance, policy)[0] for r in recs]
        default = [rules.harness_paired([r], 0.002, policy)[0][0] for r in recs]
        stored = [rules.harness_stored([([x], y)], args.tolerance, policy)[0]
                  for x, y in zip(a, b, strict=True)]
        rows.append([f"+{s:.2%}", str(len(recs)), _rate([f for f, _ in judged]),
                     _rate(default), f"{np.median([m for _, m in judged]) * 100:.3g} %",
                     _rate(stored),
                     _rate([rules.pytest_benchmark_median(x, y) for x, y in zip(a, b,
                                                                                strict=True)]),
                     _rate([rules.asv_rule(x, y) for x, y in zip(a, b, strict=True)]),
                     _rate([rules.samples_mw(x, y) for x, y in zip(a, b, strict=True)])])
    return _table(head, rows)


def _side(record: dict[str, Any], label: str) -> np.ndarray:
    return np.concatenate([np.asarray(b["samples_ms"]) for b in record["blocks"]
                           if b["side"] == label])


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment", choices=("stored", "ab"))
    p.add_argument("--simulate", choices=sorted(PRESETS), help="noise model instead of a GPU")
    p.add_argument("--model", default="zoo:transformer", help="case model source")
    p.add_argument("--backend", default="calibration")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--shapes")
    p.add_argument("--option", action="append", help="backend option KEY=VALUE")
    p.add_argument("--warmup", default="500ms")
    p.add_argument("--slowdown-via", choices=("option", "delay", "none"), default="option",
                   help="option: a backend option (calibration: slowdown); delay: a host "
                        "busy-wait of s x median (host-timed engines only: it does not slow "
                        "GPU time); none: A/A only")
    p.add_argument("--cuda-graph", action="store_true", help="timing.cuda_graph = true")
    p.add_argument("--slowdown-option", default="slowdown",
                   help="the backend option that injects a relative slowdown")
    p.add_argument("--slowdowns", default=",".join(str(s) for s in SLOWDOWNS))
    p.add_argument("--trials", type=int, default=50, help="comparisons per slowdown")
    p.add_argument("--seconds", type=float, default=4.0,
                   help="measuring time per current run / per A/B pair (both sides)")
    p.add_argument("--chunk", type=int, default=10,
                   help="A/B comparisons per preparation of the engines (instance effects "
                        "are shared within a chunk: smaller chunks sample more of them)")
    p.add_argument("--instances", type=int, default=2, help="A/B preparations per side")
    p.add_argument("--baseline-pool", type=int, default=10)
    p.add_argument("--baseline-runs", default="1,5", help="accepted runs per comparison")
    p.add_argument("--matrix", type=int, default=8, help="cases per matrix (A/A rate)")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="verdict tolerance (0: pure statistical detection)")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timing", choices=("graph", "eager", "enqueue-bound", "host"),
                   help="how the runs were timed, for the verdict's run-to-run prior "
                        "(default: eager for the eager preset, else graph); enqueue-bound: "
                        "GPU timing of host-paced launches (torch eager here)")
    p.add_argument("--save", help="write the raw pool (JSON)")
    p.add_argument("--load", help="judge a saved pool instead of collecting")
    args = p.parse_args(argv)
    args.slowdowns = [float(x) for x in args.slowdowns.split(",")]
    args.baseline_runs = [int(x) for x in args.baseline_runs.split(",")]
    eager = "eager" in (args.simulate or "") or "mode=eager" in (args.option or [])
    timing = args.timing or ("eager" if eager else "graph")
    rules.TIMING.update({"graph": {"timer": "cuda-event", "cuda_graph": True},
                         "eager": {"timer": "cuda-event", "cuda_graph": False},
                         "enqueue-bound": {"timer": "cuda-event", "cuda_graph": False,
                                           "enqueue_bound": True},
                         "host": {"timer": "host", "cuda_graph": False}}[timing])
    t0 = time.perf_counter()
    if args.load:
        data = json.loads(Path(args.load).read_text())
    else:
        src: Source = Simulated(args.simulate, args.seed) if args.simulate else Measured(args)
        data = (collect_stored if args.experiment == "stored" else collect_ab)(src, args)
        if args.save:
            Path(args.save).parent.mkdir(parents=True, exist_ok=True)
            Path(args.save).write_text(json.dumps(data))
    table = (judge_stored if data["kind"] == "stored" else judge_ab)(data, args)
    print(f"# {data['kind']}: {data['source']}, {data['seconds']:g} s measuring per "
          f"{'run' if data['kind'] == 'stored' else 'pair'}, tolerance {args.tolerance:.1%}, "
          f"alpha {args.alpha}, timing {timing}\n")
    print(table)
    print(f"\n({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
