"""The GPU measurement core's pure logic, on the CPU: settle detection, throttle flagging,
timing arithmetic and warnings, the measure loop's timer hooks, backend variants, the
telemetry record and its report, and clean degradation without a GPU."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.scenario.schema import StopRule, Warmup
from harness.telemetry import analysis
from harness.timing import analysis as ta


def ramp(n_idle=5, n_ramp=10, n_flat=40, dt=0.02, idle=345.0, top=1980.0):
    t, f = [], []
    for i in range(n_idle + n_ramp + n_flat):
        t.append(i * dt)
        if i < n_idle:
            f.append(idle)
        elif i < n_idle + n_ramp:
            f.append(idle + (top - idle) * (i - n_idle + 1) / n_ramp)
        else:
            f.append(top)
    return t, f


def test_settle_time_finds_the_end_of_the_ramp():
    t, f = ramp()
    s = analysis.settle_time(t, f, window_s=0.1, tolerance=0.01)
    # the flat part starts at sample 14 (t=0.28 s); settled once 0.1 s of it has passed
    assert s is not None and 0.28 + 0.08 - 1e-9 <= s <= 0.28 + 0.12
    assert analysis.is_settled(t, f, 0.1, 0.01)
    assert not analysis.is_settled(t[:12], f[:12], 0.1, 0.01)


def test_settle_time_none_when_clock_keeps_moving():
    t = [i * 0.02 for i in range(50)]
    f = [1000 + 50 * (i % 2) for i in range(50)]      # 5 % swings: never flat within 1 %
    assert analysis.settle_time(t, f, 0.1, 0.01) is None
    assert not analysis.is_settled(t, f, 0.1, 0.01)
    assert analysis.settle_time([], [], 0.1, 0.01) is None


def test_flagging_uses_slowdown_bits_only():
    idle, app, power, hw_thermal, sync = 0x1, 0x2, 0x4, 0x40, 0x10
    flags = analysis.flag_samples([0, idle, app, sync, power, hw_thermal, power | idle])
    assert flags == [False, False, False, False, True, True, True]
    assert analysis.reason_names(power | hw_thermal) == ["sw_power_cap", "hw_thermal_slowdown"]


def test_flagged_share_is_time_weighted():
    # four samples, the second covers a long gap: it weighs 0.5 of the time
    t = [0.0, 0.1, 0.6, 0.7]
    share = analysis.flagged_share(t, [False, True, False, False])
    assert share == pytest.approx(0.5 / 0.8)
    assert analysis.flagged_share([], []) == 0.0
    assert analysis.flagged_share([1.0], [True]) == 1.0


def test_summary_never_empty_handed():
    samples = {"t_s": [0.0, 0.1, 0.2], "sm_clock_mhz": [1980, 1700, 1980],
               "mem_clock_mhz": [2619] * 3, "power_w": [100.0, 300.0, 120.0],
               "temp_c": [40, 41, 42], "mem_used_bytes": [1, 2, 3], "util_pct": [0, 100, 100],
               "throttle_reasons": [0, 0x4, 0]}
    flagged = analysis.flag_samples(samples["throttle_reasons"])
    s = analysis.summarize(samples, flagged, window=(0.05, 0.25))
    assert s["n"] == 2 and s["sm_clock_mhz"]["min"] == 1700 and s["flagged_samples"] == 1
    assert s["reasons_seen"] == {"sw_power_cap": 1}
    assert analysis.summarize({"t_s": [], "throttle_reasons": []}, [])["n"] == 0


def test_batched_and_graph_arithmetic():
    # 3 intervals of 20 back-to-back inferences: per inference = interval / 20
    assert ta.per_inference_ms([2.0, 2.2, 4.0], 20) == pytest.approx([0.1, 0.11, 0.2])
    assert ta.per_inference_ms([1.0], 1) == [1.0]
    with pytest.raises(ValueError):
        ta.per_inference_ms([1.0], 0)
    split = ta.stage_split([[0.0, 0.1, 1.1, 1.15], [5.0, 5.2, 6.2, 6.3]], ("h2d", "infer", "d2h"))
    assert split["h2d"] == pytest.approx([0.1, 0.2])
    assert split["infer"] == pytest.approx([1.0, 1.0])
    assert split["d2h"] == pytest.approx([0.05, 0.1])
    assert ta.floor_share(0.01, 0.006) == pytest.approx(0.6)


def test_trtexec_style_warnings():
    w = ta.warnings_for([1.0] * 5, enqueue_ms=[0.9] * 5)
    assert len(w) == 1 and w[0].startswith("enqueue-bound")
    assert ta.warnings_for([1.0] * 5, enqueue_ms=[0.7] * 5) == []
    assert ta.warnings_for([1.0] * 5, transfer_ms=[1.2] * 5)[0].startswith("transfer-bound")
    assert ta.warnings_for([1.0] * 5, cov=0.03)[0].startswith("unstable")
    assert ta.warnings_for([], enqueue_ms=[5.0]) == []


def test_rotation_sets():
    assert ta.rotation_sets(1 << 20, 50 << 20) == 64        # capped
    assert ta.rotation_sets(40 << 20, 50 << 20) == 3
    assert ta.rotation_sets(1 << 30, 50 << 20) == 2
    assert ta.rotation_sets(0, 50 << 20) == 2


class GraphLikeTimer:
    """A test double of a timer with the CUDA timer's hooks: prepare() "captures" the run
    (calls it once) and returns a replay that never calls the engine; its samples read
    10 µs, so an auto timing mode probes and batches it, as the CUDA timer would."""

    name = "double"
    runs_per_sample = 1
    mode_choice = None

    def __init__(self):
        self.replays = 0
        self.chunks = []

    def prepare(self, run):
        run()

        def replay():
            self.replays += 1
        return replay

    def warmup_step(self, run):
        return run

    def sample(self, run, count):
        self.chunks.append(count)
        for _ in range(count * self.runs_per_sample):
            run()
        return [1e-5] * count

    def choose_mode(self, run, warm_pace_ms, given=None):
        from harness.timing import mode

        if self.mode_choice is None:
            self.mode_choice = given or mode.choose(
                warm_pace_ms, lambda: self.sample(run, mode.PROBE_SAMPLES)[0] * 1e3)
            self.runs_per_sample = self.mode_choice.batch_iterations
        return self.mode_choice


def test_measure_uses_timer_hooks_and_no_engine_calls_in_replay():
    from harness.timing.measure import measure

    calls, phases = {"n": 0}, []

    def engine_run():
        calls["n"] += 1

    timer = GraphLikeTimer()
    m = measure(engine_run, timer, Warmup(min_time=0, max_time=0.05, min_iterations=3),
                StopRule(min_samples=10, max_samples=40, min_time=0, max_time=1),
                phase=phases.append)
    assert calls["n"] == 1                      # only the capture ran the engine
    assert timer.replays > 0 and len(m.samples) >= 10
    assert max(timer.chunks) <= 40              # chunks never exceed the sample cap
    # the auto mode: probed once after the warm-up (20 single replays, not among the
    # samples), then every sample timed 20 replays, and the choice goes with the figures
    probe, *timed = timer.chunks
    assert probe == 20 and len(m.samples) == sum(timed)
    assert timer.replays >= probe + 20 * sum(timed)
    assert m.extra["mode"]["mode"] == "batched" and m.extra["mode"]["runs_per_sample"] == 20
    assert phases == ["warmup_start", "measure_start", "measure_end"]


def test_warmup_waits_for_settle_or_cap():
    from harness.timing.measure import warm_up

    answers = iter([False, False, True])
    _, n, settled = warm_up(lambda: None, Warmup(min_time=0, max_time=5, min_iterations=1),
                            lambda: next(answers))
    assert settled is True and n == 3
    _, _, settled = warm_up(lambda: None, Warmup(min_time=0, max_time=0.01, min_iterations=1),
                            lambda: False)
    assert settled is False


def test_backend_variants_make_distinct_cases(write_toml):
    from harness import api
    from harness.errors import ConfigError

    path = write_toml("""
        name = "v"
        [defaults]
        precisions = ["fp16"]
        options = { torch = { mode = "eager", cudnn_benchmark = false } }
        [[model]]
        id = "r"
        source = "torchvision.models:resnet50"
        backends = ["torch", "torch:graph", "torch:compile"]
        shapes = "x:{batch}x3x224x224"
    """)
    cases = api.list_cases([path])
    assert [c.id for c in cases] == ["v/r/torch/fp16/b1", "v/r/torch:graph/fp16/b1",
                                     "v/r/torch:compile/fp16/b1"]
    assert [c.options["mode"] for c in cases] == ["eager", "graph", "compile"]
    assert all(c.backend == "torch" and c.options["cudnn_benchmark"] is False for c in cases)
    bad = write_toml(path.read_text().replace("torch:compile", "torch:jit"), "bad.toml")
    with pytest.raises(ConfigError, match="torch:eager"):
        api.list_cases([bad])


def test_timing_and_telemetry_settings_are_case_settings(write_toml):
    from harness import api

    path = write_toml("""
        name = "t"
        [defaults]
        backends = ["calibration"]
        telemetry = { flagged_limit = "2%", interval = "10ms" }
        timing = { mode = "batched", batch_iterations = 50, cuda_graph = true }
        [[model]]
        id = "spin"
        source = "calibration:spin"
        options = { calibration = { kernel_us = 10, slowdown = "5%" } }
        [[case]]
        match = "t/spin/*"
        telemetry = { sm_clock_probe = true }
    """)
    [case] = api.list_cases([path])
    assert case.telemetry.flagged_limit == pytest.approx(0.02)
    assert case.telemetry.interval == pytest.approx(0.01) and case.telemetry.sm_clock_probe
    assert case.timing.batch_iterations == 50 and case.timing.cuda_graph
    assert case.to_json()["telemetry"]["flagged_limit"] == pytest.approx(0.02)


def test_calibration_options_are_checked():
    from harness.backends.calibration import SpinConfig
    from harness.errors import ConfigError

    cfg = SpinConfig.from_options({"kernel_us": 10, "slowdown": "5%", "kernels_per_run": 3})
    assert cfg.slowdown == pytest.approx(0.05) and cfg.kernels_per_run == 3
    with pytest.raises(ConfigError, match="unknown calibration options"):
        SpinConfig.from_options({"kernel_ms": 1})
    with pytest.raises(ConfigError):
        SpinConfig.from_options({"kernel_us": -1})


def fake_sampler():
    from harness.telemetry.nvml import FIELDS, NvmlSampler

    s = NvmlSampler.__new__(NvmlSampler)      # a recorded series, no NVML behind it
    s.gpu, s.interval_s, s.mask = "Test GPU", 0.02, analysis.SLOWDOWN_MASK
    s.settle_window_s, s.settle_tolerance = 0.1, 0.01
    t, f = ramp()
    n = len(t)
    reasons = [0] * n
    for i in range(30, 36):
        reasons[i] = 0x4                      # a power-cap episode inside the measurement
    s.samples = {"t_s": t, "sm_clock_mhz": f, "mem_clock_mhz": [2619] * n,
                 "power_w": [200.0] * n, "temp_c": [50] * n, "mem_used_bytes": [1 << 30] * n,
                 "util_pct": [100] * n, "throttle_reasons": reasons}
    assert set(s.samples) == set(FIELDS)
    s.phases = {"warmup_start": 0.0, "measure_start": 0.4, "measure_end": t[-1]}
    s.unsupported, s.errors = [], []
    s._checked_at, s._settled = -1, False
    return s


def test_telemetry_record_flags_unstable_and_keeps_data():
    s = fake_sampler()
    tel = s.telemetry(flagged_limit=0.05)
    assert tel["unstable"] is True and tel["flagged_share"] > 0.05
    assert tel["settle_s"] == pytest.approx(analysis.settle_time(
        s.samples["t_s"], s.samples["sm_clock_mhz"], 0.1, 0.01))
    assert len(tel["samples"]["flagged"]) == len(tel["samples"]["t_s"])    # all data kept
    assert s.telemetry(flagged_limit=0.5)["unstable"] is False
    assert s.settled() is True


def test_report_shows_telemetry_beside_the_figure():
    from harness.report.html import render_html
    from harness.results import CaseResult, RunResult

    tel = fake_sampler().telemetry(0.05)
    tel["clocks"] = {"sm_max_clock_mhz": 1980}
    case = CaseResult(id="s/m/calibration/fp32/b1", status="ok", case={"precision": "fp32"},
                      backend={"name": "calibration", "version": "1"}, samples_ms=[1.0, 1.01, 0.99],
                      stats_ms={k: 1.0 for k in ("min", "median", "mean", "p90", "p95", "p99",
                                                 "max", "stdev", "cv", "median_ci_low",
                                                 "median_ci_high")} | {"n": 3},
                      timing={"timer": "cuda-event", "warmup_s": 0.5, "warmup_iterations": 9,
                              "stop_reason": "x", "mode": "per-iteration", "cuda_graph": True,
                              "reference": {"per_run_median_ms": 1.0, "kernels_recorded": 3,
                                            "timer_minus_reference_ms": 0.001}},
                      build={"engine_bytes": None, "load_time_s": 0.0},
                      memory={"host_rss_peak_bytes": 1}, telemetry=tel)
    run = RunResult(run_id="r", started="now", platform={"host": {"cpu": "c", "cores": 1},
                                                          "gpu": None}, platform_id="p",
                    cases=[case])
    html = render_html(run)
    # the report's telemetry panel reads the sampler's record (data contract in results.py)
    assert "GPU telemetry (Test GPU)" in html and "SM clock (MHz)" in html
    assert "sw_power_cap" in html and "throttled" in html.lower()
    assert "per_run_median_ms" in html or "per run median ms" in html   # timing facts shown


def test_unstable_telemetry_turns_a_pass_into_unstable(tmp_path):
    from harness import api
    from harness.results import CaseResult, RunResult

    stats = {"median": 1.0, "median_ci_low": 0.99, "median_ci_high": 1.01}
    case = CaseResult(id="a", status="ok", case={"precision": "fp32",
                                                  "tolerance": {"median": 0.05}},
                      backend={"name": "calibration"}, stats_ms=stats,
                      telemetry={"unstable": True, "flagged_share": 0.3})
    run = RunResult(run_id="r", started="now", platform={}, platform_id="p", cases=[case],
                    scenarios=[{"name": "s"}])

    class Store:
        def entries(self, run_, c):
            return [{"stats_ms": stats, "backend": {"name": "calibration"},
                     "precision": "fp32"}], []
    api.judge(run, Store())
    assert case.verdict["status"] == "unstable" and case.verdict["would_be"] == "pass"


def test_without_gpu_cases_are_skipped_with_a_reason(write_toml, tmp_path):
    from harness import api, gpu

    if gpu.unavailable_reason() is None:
        pytest.skip("this machine has a GPU: the skip path is not taken")
    path = write_toml("""
        name = "nogpu"
        [[model]]
        id = "spin"
        source = "calibration:spin"
        backends = ["calibration"]
    """)
    out = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    [case] = out.run.cases
    # nothing measured is not a pass (issue 14): exit 3 unless explicitly allowed
    assert case.status == "skipped" and case.error and out.exit_code == 3
    from harness.baseline.verdict import VerdictPolicy

    allowed = api.run([path], out_dir=tmp_path / "r2", baselines=tmp_path / "b",
                      policy=VerdictPolicy(allow_undecided=True))
    assert allowed.exit_code == 0


def test_selftest_and_profile_refuse_clearly(monkeypatch):
    import shutil

    from harness import api, gpu
    from harness.errors import BackendUnavailable

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BackendUnavailable, match="nsys is not on PATH"):
        api.profile_command("nsys", ["s.toml"], "out/p", [])
    if gpu.unavailable_reason() is not None:
        with pytest.raises(BackendUnavailable, match="needs a CUDA GPU"):
            api.selftest()


def test_profile_command_lines(monkeypatch, tmp_path):
    import shutil

    monkeypatch.chdir(tmp_path)

    from harness import api, markers

    if not markers.available():
        pytest.skip("nvtx not installed")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    ncu = api.profile_command("ncu", ["s.toml"], "out/p", ["--case", "x"])
    assert ncu[:3] == ["/usr/bin/ncu", "--nvtx", "--nvtx-include"] and "harness@measure/" in ncu
    assert ncu[-2:] == ["--case", "x"]
    nsys = api.profile_command("nsys", ["s.toml"], "out/p", [])
    assert nsys[1] == "profile" and "--trace=cuda,nvtx,osrt" in nsys


def test_torch_slowdown_option_is_checked_before_anything_loads(write_toml):
    """A bad ``options.torch.slowdown`` is a config error naming the key, raised before torch
    or the GPU is touched (so it reads the same on this GPU-less machine)."""
    from harness import api
    from harness.backends.torch import TorchBackend
    from harness.errors import ConfigError

    path = write_toml("""
        name = "s"
        [[model]]
        id = "r"
        source = "zoo:resnet"
        backends = ["torch:graph"]
        precisions = ["fp16"]
        options = { torch = { slowdown = "fast" } }
    """)
    # Since issue 14 the scenario is refused when it is loaded (validate, list), not only
    # when the case runs; a case built in Python is still checked by prepare.
    with pytest.raises(ConfigError, match="not a fraction") as err:
        api.list_cases([path])
    assert "options.torch.slowdown" in str(err.value)
    [case] = api.list_cases([write_toml(path.read_text().replace('"fast"', '"1%"'), "ok.toml")])
    with pytest.raises(ConfigError, match="not a fraction") as err:
        TorchBackend().prepare(replace(case, options={**case.options, "slowdown": "fast"}), None)
    assert "options.torch.slowdown" in str(err.value)
    neg = replace(case, options={**case.options, "slowdown": "-1%"})
    with pytest.raises(ConfigError, match="greater than or equal to 0"):
        TorchBackend().prepare(neg, None)
