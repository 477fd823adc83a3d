"""On a real GPU (skipped without one): the CUDA-event timer against the calibration
kernels' in-kernel time, CUDA-graph replay, the NVML sampler, the torch backend and the ONNX
interpreter, and a scenario end to end. Margins are wide: these check behaviour, the
selftest measures the figures."""

from __future__ import annotations

import subprocess
import sys
from statistics import median

import numpy as np
import pytest

from harness import gpu
from harness.results import load_results

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(gpu.unavailable_reason() is not None,
                                 reason=f"no GPU: {gpu.unavailable_reason()}")]


def _timed(timing, kernel_us=100.0, n=200):
    from harness.backends.calibration import CalibrationBackend
    from harness.timing.cuda import CudaTimer

    with CalibrationBackend.engine(kernel_us=kernel_us) as eng:
        timer = CudaTimer(timing, engine=eng)
        eng.set_stream(timer.stream)
        eng.bind({})
        calls = {"n": 0}

        def run():
            calls["n"] += 1
            eng.run()
        step = timer.prepare(run)
        timer.sample(step, 50)
        eng.on_measure_start()
        before = calls["n"]
        samples = timer.sample(step, n)
        truth = eng.in_kernel_ms()
        timer.close()
    return samples, truth, calls["n"] - before, timer


def test_event_timer_matches_in_kernel_time():
    from harness.scenario.schema import Timing

    samples, truth, _, _ = _timed(Timing(), 1000.0, 100)
    assert median(samples) * 1e3 == pytest.approx(median(truth), rel=0.01)


def test_graph_replay_loop_calls_no_enqueue():
    from harness.scenario.schema import Timing

    samples, truth, enqueues, timer = _timed(Timing(cuda_graph=True, mode="batched",
                                                    batch_iterations=10), 10.0, 100)
    assert enqueues == 0 and len(truth) == len(samples) * 10
    assert timer.graph_nodes == 1


def test_nvml_sampler_collects_and_settles():
    import time

    from harness.telemetry.nvml import NvmlSampler, nvml_unavailable_reason

    if nvml_unavailable_reason():
        pytest.skip(nvml_unavailable_reason())
    with NvmlSampler(interval_s=0.01) as s:
        time.sleep(0.2)
    tel = s.telemetry(0.05)
    assert len(tel["samples"]["t_s"]) >= 5 and tel["summary"]["sm_clock_mhz"]["max"] > 0


def test_onnx_interpreter_matches_onnxruntime():
    torch = pytest.importorskip("torch")
    import numpy as np
    import onnxruntime as ort

    from harness.backends import onnx_torch
    from harness.models.zoo import zoo_model

    for name, feed in (("resnet", {"input": np.random.default_rng(0).uniform(
            -1, 1, (2, 3, 224, 224)).astype(np.float32)}),
                       ("transformer", {"input_ids": np.random.default_rng(0).integers(
                           0, 999, (2, 16))}),
                       ("yolo-8400", {"images": np.random.default_rng(0).uniform(
                           -1, 1, (1, 3, 640, 640)).astype(np.float32)}),
                       ("yunet", {"input": np.random.default_rng(0).uniform(
                           -1, 1, (1, 3, 240, 320)).astype(np.float32)})):
        path = str(zoo_model(name))
        ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feed)
        mod = onnx_torch.load(path)
        with torch.no_grad():
            got = mod(*[torch.from_numpy(v) for v in feed.values()])
        for r, g in zip(ref, got, strict=True):
            assert g.shape == r.shape
            np.testing.assert_allclose(g.numpy(), r, rtol=1e-3, atol=1e-3)


def test_scenario_end_to_end_on_gpu(write_toml, tmp_path):
    from harness import api

    path = write_toml("""
        name = "gpu-e2e"
        [defaults]
        warmup = { min_time = "100ms", max_time = "1s" }
        stop = { rel_ci = "1%", min_samples = 20, min_time = "100ms", max_time = "500ms" }
        [[model]]
        id = "spin"
        source = "calibration:spin"
        backends = ["calibration"]
        options = { calibration = { kernel_us = 200 } }
        timing = { cuda_graph = true }
        [[model]]
        id = "zoo-resnet"
        source = "zoo:resnet"
        backends = ["torch", "torch:graph"]
        precisions = ["fp16"]
        batch = [2]
    """)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    by_id = {c.id: c for c in out.run.cases}
    spin = by_id["gpu-e2e/spin/calibration/fp32/b1"]
    assert spin.status == "ok", spin.error
    assert spin.timing["timer"] == "cuda-event" and spin.timing["cuda_graph"] is True
    assert spin.telemetry["samples"]["sm_clock_mhz"] and "clocks" in spin.telemetry
    ref = spin.timing["reference"]["per_run_median_ms"]
    assert spin.stats_ms["median"] == pytest.approx(ref, rel=0.05)
    # the auto timing mode probed it and kept a 200 µs kernel per iteration
    assert spin.timing["mode"] == "per-iteration" and spin.timing["runs_per_sample"] == 1
    assert spin.timing["mode_reason"].startswith("auto: CUDA graph")
    assert spin.timing["mode_probe_ms"] == pytest.approx(ref, rel=0.2)
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    for cid in ("gpu-e2e/zoo-resnet/torch/fp16/b2", "gpu-e2e/zoo-resnet/torch:graph/fp16/b2"):
        c = by_id[cid]
        assert c.status == "ok", c.error
        assert {"h2d", "infer", "d2h"} <= set(c.stages)
        assert c.build["outputs"]["logits"] == [2, 100]


def test_torch_injected_slowdown_is_gpu_time(write_toml, tmp_path):
    """``options.torch.slowdown`` adds GPU time in proportion to the model's: a 20 % spin
    shows as ~20 % more CUDA-graph latency (the verdict experiments rely on it)."""
    pytest.importorskip("torch")
    from harness import api

    path = write_toml("""
        name = "slow"
        [defaults]
        warmup = { min_time = "100ms", max_time = "1s" }
        stop = { rel_ci = "0.5%", min_samples = 50, min_time = "300ms", max_time = "1s" }
        [[model]]
        id = "r"
        source = "zoo:resnet"
        backends = ["torch:graph"]
        precisions = ["fp16"]
        batch = [8]
        [[model]]
        id = "r-slow"
        source = "zoo:resnet"
        backends = ["torch:graph"]
        precisions = ["fp16"]
        batch = [8]
        options = { torch = { slowdown = "20%" } }
    """)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    by_id = {c.id: c for c in out.run.cases}
    fast, slow = by_id["slow/r/torch:graph/fp16/b8"], by_id["slow/r-slow/torch:graph/fp16/b8"]
    assert fast.status == "ok" and slow.status == "ok", (fast.error, slow.error)
    ratio = slow.stats_ms["median"] / fast.stats_ms["median"]
    assert 1.15 < ratio < 1.25, ratio
    assert any("torch.cuda._sleep" in n for n in slow.build["notes"])


# the defaults of the torchvision-style GPU scenarios below
GRAPH_FP16_B8 = '[defaults]\nbackends = ["torch:graph"]\nprecisions = ["fp16"]\nbatch = [8]\n'
# ...and a small model in 4 seeded layouts, each long enough to read its median to ~0.1 %
RESNET_4_LAYOUTS = GRAPH_FP16_B8 + """
timing = { layouts = 4 }
stop = { rel_ci = "0.5%", min_samples = 50, min_time = "1s", max_time = "2s" }
[[model]]
id = "m"
source = "zoo:resnet"
"""


def test_a_slowed_case_draws_its_plain_twins_layouts(write_toml, tmp_path):
    """The injected slowdown changes what runs, not where anything lands: the plain case and
    its slowed twin, each alone in a fresh process at one layout seed, see the same layouts,
    so the slowed/plain ratio is the same in every layout (the stored verdict's paired
    layouts compare them layout by layout)."""
    pytest.importorskip("torch")
    ratios = []
    for extra in ("", 'options = { torch = { slowdown = "5%" } }\n'):
        path = write_toml('name = "twin"\n' + RESNET_4_LAYOUTS + extra,
                          name=f"twin{len(ratios)}.toml")
        out = tmp_path / f"o{len(ratios)}"
        subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--quiet",
                        "--layout-seed", "11", "--out", str(out)], check=False)
        [case] = load_results(out / "results.json").cases
        assert case.status == "ok", case.error
        ratios.append([x["median_ms"] for x in case.timing["layout_figures"]])
    per = np.array(ratios[1]) / np.array(ratios[0])
    assert 1.03 < per.mean() < 1.07, per
    assert per.std(ddof=1) < 0.004, per


def test_a_stored_run_after_another_case_says_it_was_paired_on_the_seeds(write_toml, tmp_path):
    """Stored runs replay their baseline's layout seeds; a seed replays a layout only after
    the same preparations. Three accepted runs of a case alone, then the case with another
    prepared before it: judged layout by layout on the seeds alone, and its verdict says so
    (``paired_on``: a shift of all its layouts together is not in the interval); alone
    again: paired within its context (docs/verdicts.md, "Cases added before")."""
    pytest.importorskip("torch")
    alone = write_toml('name = "ctx"\n' + RESNET_4_LAYOUTS, name="alone.toml")
    before = write_toml('name = "ctx"\n' + RESNET_4_LAYOUTS.replace(
        '[[model]]\nid = "m"', '[[model]]\nid = "first"\nsource = "zoo:resnet"\n'
        'batch = [2]\n[[model]]\nid = "m"'), name="before.toml")
    base = tmp_path / "b"

    def run(path, k):
        out = tmp_path / f"o{k}"
        subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--quiet",
                        "--out", str(out), "--baselines", str(base)], check=False)
        return out / "results.json"

    for k in range(3):
        subprocess.run([sys.executable, "-m", "harness", "baseline", "accept",
                        str(run(alone, k)), "--baselines", str(base)], check=True)
    for path, k, paired_on in ((before, 3, "seeds"), (alone, 4, "context")):
        case = next(c for c in load_results(run(path, k)).cases
                    if c.id == "ctx/m/torch:graph/fp16/b8")
        assert case.status == "ok", case.error
        med = case.verdict.metrics["median"]
        assert med.get("method") == "paired-layouts", case.verdict.reason
        assert med.get("paired_on") == paired_on, case.verdict.reason
        assert ("on the seeds alone" in case.verdict.reason) == (paired_on == "seeds")


def test_ab_processes_pairs_the_same_layouts_in_both_sides_processes(write_toml, tmp_path):
    """``ab --processes``: A's and B's runs draw the same seeds in fresh processes, so each
    layout is the same placement on both sides: an injected +5 % shows in every layout alike
    and is "slower", where the layouts themselves differ by more than that spread."""
    pytest.importorskip("torch")
    path = write_toml('name = "abp"\n' + RESNET_4_LAYOUTS + """
        [[model]]
        id = "slow"
        source = "zoo:resnet"
        options = { torch = { slowdown = "5%" } }
        [[ab]]
        a = "m/torch:graph/fp16/b8"
        b = "slow/torch:graph/fp16/b8"
        processes = 2
    """)
    out = tmp_path / "r"
    subprocess.run([sys.executable, "-m", "harness", "ab", str(path), "--out", str(out)],
                   check=False)
    import json

    [rec] = json.loads((out / "ab-results.json").read_text())["ab"]
    assert [r["status"] for r in rec["rounds"]] == ["ok"] * 4, rec["warnings"]
    seeds = {tuple(x["seed"] for x in r["layout_figures"]) for r in rec["rounds"]}
    assert len(seeds) == 1, seeds
    # a base pad per process pair: A's and B's k-th processes alike, the pairs apart
    bases = {(r["side"], r["round"]): r["layout_base"] for r in rec["rounds"]}
    assert bases["A", 1] == bases["B", 1] > 0 and bases["A", 2] == bases["B", 2]
    assert bases["A", 1] != bases["A", 2]
    assert rec["verdict"]["status"] == "slower", rec["verdict"]["reason"]
    assert rec["verdict"]["metrics"]["median"]["method"] == "paired-runs"
    assert 0.03 < rec["verdict"]["change"] < 0.07


def test_torch_memory_is_the_case_own_in_any_case_order(write_toml, tmp_path, monkeypatch):
    """Issue 22: a case's gated memory must not depend on what ran before it, and an injected
    slowdown must not move it (it changes only time)."""
    pytest.importorskip("torch")
    from harness import api, consent

    monkeypatch.setenv(consent.ENV, "1")         # torchvision factories: code from outside

    shapes = 'shapes = "x:{batch}x3x224x224"\n'
    models = {"small": 'source = "torchvision.models:mobilenet_v3_small"\n' + shapes,
              "big": 'source = "torchvision.models:resnet50"\n' + shapes,
              "slow": 'source = "torchvision.models:mobilenet_v3_small"\n' + shapes
                      + 'options = { torch = { slowdown = "20%" } }\n'}
    figures: dict[str, list[int]] = {}
    for order in (("small", "big", "slow"), ("big", "slow", "small"), ("slow", "small", "big")):
        body = "".join(f'[[model]]\nid = "{m}"\n{models[m]}\n' for m in order)
        path = write_toml('name = "mem"\n' + GRAPH_FP16_B8 + """
            warmup = { min_time = "50ms", max_time = "200ms" }
            stop = { rel_ci = "5%", min_samples = 20, min_time = "50ms", max_time = "200ms" }
        """ + body)
        out = api.run([path], out_dir=tmp_path / "-".join(order), baselines=tmp_path / "b")
        for c in out.run.cases:
            assert c.status == "ok", c.error
            figures.setdefault(c.case["model"], []).append(c.memory["device_bytes"])
            assert c.memory["device_bytes"] < c.memory["process_reserved_bytes"]
    for model, values in figures.items():
        assert max(values) - min(values) <= 0.01 * max(values), (model, values)
    # the spin is not memory: the same model with +20 % injected needs the same
    assert abs(figures["slow"][0] - figures["small"][0]) <= 0.01 * figures["small"][0]


def _bound_torch_session(backend, stack, layout_seed=1, options=None):
    """A torch engine of the zoo ResNet in fp16, prepared in a random layout and bound, as
    one A/B preparation is (:func:`harness.ab.measure._prepare`)."""
    from harness.adhoc import bench_case
    from harness.backends import backend_class
    from harness.layout import Layout
    from harness.models.source import resolve_source
    from harness.timing.session import MeasuringSession

    case = bench_case("zoo:resnet", backend=backend, precision="fp16", shapes="input:2x3x224x224",
                      options=options)
    source = resolve_source(case.source, None, case.seed)
    session = stack.enter_context(MeasuringSession(case, source, backend_class(case.backend),
                                                   Layout(layout_seed)))
    session.prepare()
    session.open_timer()
    session.prepare_feed()
    session.bind()
    return session


def _first_weight_ptr(module):
    """Where the module's first weight lives (the zoo model comes through
    harness/backends/onnx_torch.py, whose weights are buffers, not parameters)."""
    return next(iter([*module.parameters(), *module.buffers()])).data_ptr()


def test_torch_workspaces_per_preparation_spare_an_engine_in_use():
    """``options.torch.workspaces = "preparation"``: the cuBLAS workspace (the ResNet's last
    Gemm uses one) is released before a preparation when no other engine is in use, and kept
    while one is: the first engine's captured graph still holds its address and must give the
    same outputs after the second engine is prepared beside it (as A/B's two sides are)."""
    import contextlib

    import numpy as np

    pytest.importorskip("torch")
    opts = {"workspaces": "preparation"}  # the backend's own options, as bench_case takes them
    with contextlib.ExitStack() as stack:
        first = _bound_torch_session("torch:graph", stack, 1, opts).engine
        first.run()
        before = first.fetch_outputs()
        beside = _bound_torch_session("torch:graph", stack, 2, opts).engine
        assert "cuBLAS workspace kept before this preparation" in beside.build.notes
        beside.run()
        first.run()
        after = first.fetch_outputs()
        for name in before:
            np.testing.assert_array_equal(after[name], before[name])
    with contextlib.ExitStack() as stack:
        alone = _bound_torch_session("torch:graph", stack, 3, opts).engine
        assert "cuBLAS workspace released before this preparation" in alone.build.notes
        alone.run()


@pytest.mark.parametrize("backend", ["torch:graph", "torch:eager"])
def test_torch_relayout_moves_the_buffers_and_keeps_the_outputs(backend):
    """``Engine.relayout``: the new layout's pads are held before the inputs are placed
    again, so the inputs land where the pads put them (elsewhere, for some of four new
    layouts: the caching allocator can hand an old block back to one layout's inputs, as it
    did for Layout(2) in one H200 process of session 11 and not in session 10's), the
    weights stay where they are, the graph is captured again, and the same inputs give the
    same outputs (the same kernels on the same data: bit for bit)."""
    import contextlib

    import numpy as np

    pytest.importorskip("torch")
    from harness.layout import Layout

    with contextlib.ExitStack() as stack:
        engine = _bound_torch_session(backend, stack).engine
        engine.run()
        before = engine.fetch_outputs()
        ptr = engine._args[0].data_ptr()
        weight = _first_weight_ptr(engine.module)
        graph = engine._graph
        placed = set()
        for seed in (2, 3, 4, 5):
            assert engine.relayout(Layout(seed)) is True
            assert engine._pad_bytes["buffers"] == sum(Layout(seed).pads("buffers"))
            placed.add(engine._args[0].data_ptr())
        assert placed - {ptr}
        assert _first_weight_ptr(engine.module) == weight
        assert (engine._graph is None) == (backend == "torch:eager")
        assert engine._graph is not graph or graph is None
        engine.run()
        after = engine.fetch_outputs()
        assert before.keys() == after.keys()
        for name in before:
            np.testing.assert_array_equal(after[name], before[name])


def test_ab_with_redraw_completes_on_gpu():
    """A short A/A comparison of a torch CUDA-graph model with ``redraw`` on: every block
    ran on its own re-drawn layout, the re-draws are timed apart, and a verdict is reached."""
    pytest.importorskip("torch")
    from harness.ab.measure import ABSettings, measure_ab
    from harness.ab.verdict import judge
    from harness.adhoc import bench_case

    case = bench_case("zoo:resnet", backend="torch:graph", precision="fp16",
                      shapes="input:8x3x224x224", warmup="100ms")
    settings = ABSettings(duration_s=1.0, instances=2, redraw=True, layout_seed=11)
    record = measure_ab(case, case, settings)
    assert record["status"] == "ok", record["error"]
    seeds = [b["layout_seed"] for b in record["blocks"]]
    assert len(set(seeds)) == len(seeds) >= 16
    assert record["timing"]["redraw_s"] > 0
    assert not [w for w in record["warnings"] if w.startswith("redraw")]
    [verdict] = judge([record])
    assert verdict.status in ("same", "slower", "faster", "unstable", "undecided")


def test_ab_records_the_side_whose_pace_the_host_set():
    """Eager, the small zoo model waits on the host's launches (a few µs of GPU work per
    layer against ~10 µs of Python each); the same model as a CUDA graph does not. The A/B record names the host-paced side (``timing.enqueue_bound``) and the verdict
    carries the "enqueue-bound" flag (session 8: eager resnet18 block pairs 15 % apart)."""
    pytest.importorskip("torch")
    from harness.ab.measure import ABSettings, measure_ab
    from harness.ab.verdict import HOST_PACE, judge
    from harness.adhoc import bench_case

    eager, graph = (bench_case("zoo:resnet", backend=f"torch:{mode}", precision="fp16",
                               shapes="input:8x3x224x224", warmup="100ms")
                    for mode in ("eager", "graph"))
    record = measure_ab(eager, graph, ABSettings(duration_s=1.0, instances=2))
    assert record["status"] == "ok", record["error"]
    assert record["timing"]["enqueue_bound"] == ["A"], record["timing"]
    [verdict] = judge([record])
    assert [f.kind for f in verdict.flags if f.kind == HOST_PACE] == [HOST_PACE]


def test_auto_mode_batches_a_ten_microsecond_graph_in_a_run_and_in_both_sides_of_ab():
    """The auto timing mode on the GPU (harness.timing.mode): a 10 µs CUDA-graph kernel is
    probed under 50 µs and timed batched, 20 replays between two events, in every layout of
    a run and in every preparation of both sides of an A/B."""
    from harness.ab.measure import ABSettings, measure_ab
    from harness.adhoc import bench_case
    from harness.runner import run_case

    case = bench_case("calibration:spin", backend="calibration", warmup="200ms",
                      duration="1s", options={"kernel_us": 10.0},
                      timing={"cuda_graph": True, "layouts": 2})
    result = run_case(case)
    assert result.status == "ok", result.error
    t = result.timing
    assert (t["mode"], t["runs_per_sample"]) == ("batched", 20), t
    assert t["mode_probe_ms"] < 0.05 and t["mode_reason"].startswith("auto: CUDA graph")
    # batching spreads the ~4 µs of launch and events: the figure nears the in-kernel time
    ref = t["reference"]["per_run_median_ms"]
    assert ref <= result.stats_ms["median"] < t["mode_probe_ms"]
    record = measure_ab(case, case, ABSettings(duration_s=1.0, instances=2))
    assert record["status"] == "ok", record["error"]
    assert (record["timing"]["mode"], record["timing"]["runs_per_sample"]) == ("batched", 20)
