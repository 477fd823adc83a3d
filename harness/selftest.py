"""``trt-harness selftest``: what the instrument itself can resolve on the GPU at hand.

- the event-timing floor (an empty kernel between two events) and the bare event pair;
- the host overhead the timer adds per timed iteration (launch loop with vs without events);
- the timing error against spin kernels' own in-kernel duration (``%globaltimer``) at ~10 µs,
  ~100 µs and ~1 ms, per mode (per-iteration, batched, CUDA graph, graph + batched);
- launches inside a CUDA-graph replay loop (engine enqueues and kernels beyond the graph's);
- within- and between-trial noise of the median at each duration;
- the cost of each NVML query and of an NVTX push/pop pair.

Everything is returned as one JSON-able dict; :func:`table_rows` turns it into a table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import median
from typing import Any

import numpy as np

from harness import gpu
from harness.scenario.schema import Timing

DURATIONS_US = (10.0, 100.0, 1000.0)
# Targets of the issue: error at ~1 ms, per-kernel error of batched/graph timing at ~10 µs,
# host overhead of the timer per timed iteration.
TARGET_REL_1MS = 0.002
TARGET_ABS_10US = 2.0
TARGET_HOST_US = 10.0


def _cv(xs: list[float]) -> float:
    a = np.asarray(xs, float)
    return float(a.std(ddof=1) / a.mean()) if len(a) > 1 and a.mean() else float("nan")


def _us(stats_ms: list[float]) -> dict[str, float]:
    a = np.asarray(stats_ms, float) * 1e3
    return {"median_us": float(np.median(a)), "p99_us": float(np.percentile(a, 99)),
            "min_us": float(a.min()), "n": len(a)}


def _settle(engine: Any, run: Callable[[], None], seconds: float) -> float:
    """Keep the GPU busy until the clocks have risen (a fixed time: selftest has no sampler)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            run()
        engine.stream.sync()
    return seconds


def event_floor(stream: Any, n: int) -> dict[str, Any]:
    """Two events around an empty kernel, and around nothing."""
    from cuda.core import LaunchConfig, launch

    from harness import kernels
    from harness.timing.cuda import CudaTimer

    empty = kernels.kernel("empty")
    cfg = LaunchConfig(grid=1, block=32)
    out: dict[str, Any] = {}
    # "held": the chunk is enqueued behind a blocking kernel and runs at GPU speed (the
    # GPU-side floor); "host-paced": each iteration starts when the host gets to it, so the
    # launch latency of the Python call is inside the interval too.
    for label, timing in (("held", Timing(hold_stream=True)), ("host_paced", Timing())):
        timer = CudaTimer(timing, stream=stream)
        timer.sample(lambda: launch(stream, cfg, empty), 200)       # warm
        kernel = timer.sample(lambda: launch(stream, cfg, empty), n)
        nothing = timer.sample(lambda: None, n)
        timer.close()
        out[label] = {"empty_kernel": _us([s * 1e3 for s in kernel]),
                      "no_kernel": _us([s * 1e3 for s in nothing])}
    return out


def host_overhead(stream: Any, n: int) -> dict[str, Any]:
    """Host time per iteration of a launch loop, bare and inside the timer's timed loop (the
    GPU is never the bottleneck: empty kernels), and the same for CUDA-graph launches."""
    from cuda.core import LaunchConfig, launch

    from harness import kernels
    from harness.timing.cuda import CudaGraph, CudaTimer

    cfg, empty = LaunchConfig(grid=1, block=32), kernels.kernel("empty")

    def run() -> None:
        launch(stream, cfg, empty)

    def per_iter(fn: Callable[[], Any], count: int) -> float:
        t0 = time.perf_counter_ns()
        fn()
        stream.sync()
        return (time.perf_counter_ns() - t0) / count / 1e3

    out: dict[str, Any] = {}
    graph = CudaGraph(stream, run)
    for label, step in (("launch", run), ("graph", graph.launch)):
        timer = CudaTimer(Timing(), stream=stream)
        timer.sample(step, 100)
        bare, timed = [], []
        for _ in range(5):    # interleaved repeats: the minimum of each is the cost
            bare.append(per_iter(lambda s=step: [s() for _ in range(n)], n))
            timed.append(per_iter(lambda s=step, t=timer: t.sample(s, n), n))
        out[label] = {"bare_us": min(bare), "timed_us": min(timed),
                      "overhead_us": min(timed) - min(bare)}
        timer.close()
    graph.close()
    out["overhead_us"] = max(out["launch"]["overhead_us"], out["graph"]["overhead_us"])
    out["target_us"] = TARGET_HOST_US
    out["ok"] = out["overhead_us"] <= TARGET_HOST_US
    return out


def _modes(batch_n: int) -> list[tuple[str, Timing]]:
    return [("per-iteration", Timing()),
            ("per-iteration+hold", Timing(hold_stream=True)),
            ("batched", Timing(mode="batched", batch_iterations=batch_n)),
            ("graph", Timing(cuda_graph=True, mode="per-iteration")),
            ("graph+batched", Timing(cuda_graph=True, mode="batched", batch_iterations=batch_n))]


def accuracy(stream: Any, quick: bool) -> dict[str, Any]:
    """Timer median vs in-kernel median for each duration and mode; graph-loop launches."""
    from harness.backends.calibration import CalibrationBackend
    from harness.timing.cuda import CudaTimer

    out: dict[str, Any] = {}
    for us in DURATIONS_US:
        n = int(min(2000, max(100, 0.3e6 / us))) // (4 if quick else 1)
        row: dict[str, Any] = {}
        with CalibrationBackend.engine(kernel_us=us) as eng:
            eng.set_stream(stream)
            eng.bind({})
            _settle(eng, eng.run, 0.3)
            for label, timing in _modes(20):
                timer = CudaTimer(timing, stream=stream, engine=eng)
                calls = {"n": 0}

                def counted(e: Any = eng, c: dict = calls) -> None:
                    c["n"] += 1
                    e.run()
                step = timer.prepare(counted)
                timer.sample(step, max(10, n // 10))              # warm this mode
                eng.on_measure_start()
                before = calls["n"]
                samples = timer.sample(step, max(10, n // timer.runs_per_sample))
                enqueues = calls["n"] - before
                truth = eng.in_kernel_ms()
                med_ms = median(samples) * 1e3
                ref_ms = median(truth)
                launched = len(samples) * timer.runs_per_sample
                row[label] = {
                    "timer_median_us": med_ms * 1e3, "in_kernel_median_us": ref_ms * 1e3,
                    "error_us": (med_ms - ref_ms) * 1e3, "relative_error": med_ms / ref_ms - 1,
                    "samples": len(samples), "kernels_recorded": len(truth),
                    "inferences_timed": launched,
                }
                if timing.cuda_graph:
                    # Host side: the engine's enqueue was never called in the replay loop.
                    # GPU side: exactly one spin kernel ran per replay, nothing more.
                    row[label]["engine_enqueues_in_replay_loop"] = enqueues
                    row[label]["extra_kernels"] = len(truth) - launched
                    row[label]["graph_nodes"] = timer.graph_nodes
                timer.close()
        out[f"{us:g}us"] = row
    one_ms, ten_us = out["1000us"], out["10us"]
    best_1ms = min(one_ms, key=lambda m: abs(one_ms[m]["relative_error"]))
    out["targets"] = {
        "1ms_per_iteration_rel_error": abs(one_ms["per-iteration"]["relative_error"]),
        "1ms_best_mode": best_1ms,
        "1ms_best_rel_error": abs(one_ms[best_1ms]["relative_error"]),
        "1ms_ok": abs(one_ms[best_1ms]["relative_error"]) <= TARGET_REL_1MS,
        "10us_best_batched_or_graph_abs_error_us": min(
            abs(ten_us[m]["error_us"]) for m in ("batched", "graph+batched", "graph")),
        "10us_ok": min(abs(ten_us[m]["error_us"]) for m in ("batched", "graph+batched"))
        <= TARGET_ABS_10US,
        "graph_replay_extra_launches": max(
            abs(out[k][m]["extra_kernels"]) + out[k][m]["engine_enqueues_in_replay_loop"]
            for k in out for m in ("graph", "graph+batched")),
    }
    return out


def noise(stream: Any, trials: int, quick: bool) -> dict[str, Any]:
    """Within-trial CV (median over trials) and between-trial CV of the trial medians."""
    from harness.backends.calibration import CalibrationBackend
    from harness.timing.cuda import CudaTimer

    out: dict[str, Any] = {}
    for us in DURATIONS_US:
        n = int(min(1000, max(100, 0.25e6 / us))) // (4 if quick else 1)
        with CalibrationBackend.engine(kernel_us=us) as eng:
            eng.set_stream(stream)
            eng.bind({})
            _settle(eng, eng.run, 0.2)
            timer = CudaTimer(Timing(), stream=stream, engine=eng)
            meds, cvs = [], []
            for _ in range(trials):
                s = timer.sample(eng.run, n)
                meds.append(median(s))
                cvs.append(_cv(s))
                time.sleep(0.02)        # a short idle gap, as between real runs
            timer.close()
        out[f"{us:g}us"] = {"trials": trials, "samples_per_trial": n,
                            "within_trial_cv": float(np.median(cvs)),
                            "between_trial_cv": _cv(meds),
                            "median_us": float(np.median(meds)) * 1e6}
    return out


def nvml_cost(n: int) -> dict[str, Any]:
    from harness.telemetry.nvml import _readers, device_handle, nvml_unavailable_reason

    reason = nvml_unavailable_reason()
    if reason:
        return {"error": reason}
    out = {}
    for key, read in _readers(device_handle(gpu.device().uuid)).items():
        try:
            read()
        except Exception as exc:
            out[key] = f"unsupported: {exc}"
            continue
        t0 = time.perf_counter_ns()
        for _ in range(n):
            read()
        out[key] = (time.perf_counter_ns() - t0) / n / 1e3
    out["per_sample_us"] = sum(v for v in out.values() if isinstance(v, float))
    return out


def nvtx_cost(n: int) -> dict[str, Any]:
    from harness import markers

    r = markers.iteration_range()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        r.push()
        r.pop()
    pair = (time.perf_counter_ns() - t0) / n / 1e3
    t0 = time.perf_counter_ns()
    for _ in range(n // 10):
        with markers.nvtx_range("selftest"):
            pass
    ctx = (time.perf_counter_ns() - t0) / (n // 10) / 1e3
    return {"nvtx_package": markers.available(), "per_iteration_pair_us": pair,
            "context_manager_range_us": ctx}


def run_selftest(quick: bool = False, trials: int = 10) -> dict[str, Any]:
    from harness.platform import fingerprint

    gpu.ensure_current()
    from harness import kernels

    kernels.module()
    stream = gpu.harness_stream()
    t0 = time.perf_counter()
    report: dict[str, Any] = {"gpu": gpu.properties(), "platform": fingerprint()}
    try:
        from harness.telemetry.clocks import clock_state
        from harness.telemetry.nvml import device_handle

        report["clocks"] = clock_state(device_handle(gpu.device().uuid))
    except Exception as exc:
        report["clocks"] = {"error": str(exc)}
    n = 500 if quick else 2000
    report["accuracy"] = accuracy(stream, quick)
    report["event_floor"] = event_floor(stream, n)
    report["host_overhead"] = host_overhead(stream, n)
    report["noise"] = noise(stream, max(3, trials // 2) if quick else trials, quick)
    report["nvml_cost_us"] = nvml_cost(200 if quick else 1000)
    report["nvtx_cost"] = nvtx_cost(20_000 if quick else 100_000)
    report["wall_s"] = time.perf_counter() - t0
    return report


def table_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, figure, target/verdict) rows for the terminal table."""
    rows = []
    for label, f in r["event_floor"].items():
        rows.append((f"event floor ({label}): empty kernel between 2 events",
                     f"median {f['empty_kernel']['median_us']:.2f} µs, p99 "
                     f"{f['empty_kernel']['p99_us']:.2f} µs", "measured"))
        rows.append((f"2 events, nothing between ({label})",
                     f"median {f['no_kernel']['median_us']:.2f} µs", ""))
    h = r["host_overhead"]
    rows.append(("host overhead per timed iteration",
                 f"launch {h['launch']['overhead_us']:.2f} µs, graph "
                 f"{h['graph']['overhead_us']:.2f} µs (bare launch {h['launch']['bare_us']:.2f} "
                 f"µs)", f"<= {TARGET_HOST_US:g} µs: {'ok' if h['ok'] else 'MISSED'}"))
    for dur, modes in r["accuracy"].items():
        if dur == "targets":
            continue
        for mode, x in modes.items():
            rows.append((f"error at {dur}, {mode}",
                         f"{x['error_us']:+.2f} µs ({x['relative_error']:+.3%}) vs in-kernel "
                         f"{x['in_kernel_median_us']:.2f} µs", ""))
    t = r["accuracy"]["targets"]
    rows.append(("target: error at 1 ms within 0.2 %",
                 f"best {t['1ms_best_rel_error']:.3%} ({t['1ms_best_mode']}); per-iteration "
                 f"{t['1ms_per_iteration_rel_error']:.3%}", "ok" if t["1ms_ok"] else "MISSED"))
    rows.append(("target: 10 µs batched/graph within 2 µs",
                 f"{t['10us_best_batched_or_graph_abs_error_us']:.2f} µs",
                 "ok" if t["10us_ok"] else "MISSED"))
    rows.append(("extra launches in a CUDA-graph replay loop",
                 str(t["graph_replay_extra_launches"]),
                 "ok" if t["graph_replay_extra_launches"] == 0 else "MISSED"))
    for dur, x in r["noise"].items():
        rows.append((f"noise at {dur} ({x['trials']} trials)",
                     f"within-trial CV {x['within_trial_cv']:.2%}, between-trial CV "
                     f"{x['between_trial_cv']:.3%}", ""))
    nv = r["nvml_cost_us"]
    rows.append(("NVML cost per call", ", ".join(f"{k} {v:.1f} µs" for k, v in nv.items()
                                                  if isinstance(v, float)), ""))
    x = r["nvtx_cost"]
    rows.append(("NVTX push/pop per iteration",
                 f"{x['per_iteration_pair_us']:.2f} µs (nvtx package: {x['nvtx_package']})", ""))
    return rows
