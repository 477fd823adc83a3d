"""pytest plugin (registered through the ``pytest11`` entry point): the ``harness_benchmark``
fixture times a callable, a bound engine or a model with the harness's timer and stopping rule,
and stores the samples through pytest-benchmark, so ``--benchmark-json``, ``--benchmark-
compare``, ``--benchmark-autosave`` and the summary table keep working, with GPU-correct
figures.

pytest-benchmark's own loop reads a host clock around each call; for GPU work that times the
launch, not the kernels. Here the harness takes the samples (CUDA events where a GPU and the
CUDA-event timer exist, the host clock otherwise) and hands each one to pytest-benchmark's
statistics as a round of one iteration.

    def test_resnet(harness_benchmark):
        stats = harness_benchmark(model, x, max_time="1s")      # a callable and its arguments
        assert stats["median"] < 5.0                            # milliseconds

    def test_engine(harness_benchmark, engine):                 # a bound harness Engine
        harness_benchmark(engine)

    def test_zoo(harness_benchmark):                            # a model through the runner
        harness_benchmark.model("zoo:transformer", shapes="input_ids:1x16")
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from harness.backends.base import Engine
from harness.scenario.schema import StopRule, Warmup
from harness.stats import summarize
from harness.timing.host import HostTimer
from harness.timing.measure import measure


def cuda_timer(stream: Any = None) -> Any | None:
    """The harness's CUDA-event timer when a GPU and :mod:`harness.timing.cuda` are present;
    None otherwise (imported lazily: no GPU, no CUDA import)."""
    from harness.platform import gpu_info

    if gpu_info() is None:
        return None
    try:
        from harness.timing import cuda
    except ImportError:
        return None
    from harness.scenario.schema import Timing

    try:
        # per-iteration events on the harness stream (or the one given): GPU time per call
        return cuda.CudaTimer(Timing(), stream=stream)
    except Exception as exc:   # a broken CUDA set-up: say so, fall back to the host clock
        warnings.warn(f"harness_benchmark: CUDA-event timer unavailable ({exc}); "
                      "using the host clock", stacklevel=3)
        return None


def pick_timer(timer: str, is_async: bool, stream: Any = None) -> Any:
    if timer not in ("auto", "host", "cuda-event"):
        raise ValueError(f"timer must be auto, host or cuda-event, not {timer!r}")
    gpu = None if timer == "host" else cuda_timer(stream)
    if gpu is not None:
        return gpu
    if timer == "cuda-event" or is_async:
        raise pytest.UsageError("harness_benchmark: CUDA-event timing needed (asynchronous "
                                "engine or timer='cuda-event') but no GPU timer is available")
    return HostTimer()


class HarnessBenchmark:
    """Callable fixture object; one measurement per test, as pytest-benchmark allows."""

    def __init__(self, benchmark: Any) -> None:
        self.benchmark = benchmark

    def __call__(self, target: Callable[..., Any] | Engine, *args: Any,
                 warmup: str | float = "200ms", max_time: str | float = "2s",
                 min_time: str | float = "100ms", rel_ci: str | float = "1%",
                 min_samples: int = 20, timer: str = "auto", **kwargs: Any) -> dict[str, Any]:
        """Measure ``target(*args, **kwargs)`` (or a bound engine's inference); returns the
        harness's summary in milliseconds (median with its CI, percentiles, n)."""
        is_engine = isinstance(target, Engine)
        run = target.run if is_engine else functools.partial(target, *args, **kwargs)
        if self.benchmark.disabled:          # --benchmark-disable: run once, as a test
            self._claim()
            run()
            return {}
        t = pick_timer(timer, is_engine and target.is_async, getattr(target, "stream", None))
        m = measure(run, t, Warmup(min_time=warmup, max_time=max(_seconds(warmup), 2.0)),
                    StopRule(rel_ci=rel_ci, max_time=max_time, min_time=min_time,
                             min_samples=min_samples))
        return self.record(m.samples, m.timer, {"warmup_s": m.warmup_s,
                                                "stop_reason": m.stop_reason})

    def model(self, model: str, **options: Any) -> dict[str, Any]:
        """Measure a model (an .onnx path or zoo:NAME) through the harness runner, exactly as
        ``trt-harness bench`` would; options are :func:`harness.api.bench_case`'s."""
        from harness import api
        from harness.runner import run_case

        self._check_unused()
        result = run_case(api.bench_case(model, **options))
        if result.status == "skipped":
            pytest.skip(f"{result.id}: {result.error}")
        if result.status != "ok":
            pytest.fail(f"{result.id}: {result.error}")
        if not result.samples_ms:            # a build-only engine: nothing to time here
            pytest.skip(f"{result.id}: build-only (cannot run on this machine)")
        return self.record([s / 1e3 for s in result.samples_ms], result.timing.get("timer", "?"),
                           {"case": result.id, "backend": result.backend,
                            "warnings": result.warnings,
                            "stop_reason": result.timing.get("stop_reason")})

    def record(self, samples_s: list[float], timer_name: str,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Hand samples (seconds) to pytest-benchmark as rounds of one iteration each."""
        self._claim()
        stats = self.benchmark._make_stats(1)     # pytest-benchmark >= 3.1, up to 5.x
        for s in samples_s:
            stats.update(s)
        stats.options["timer"] = f"harness:{timer_name}"
        summary = summarize([s * 1e3 for s in samples_s])
        self.benchmark.extra_info.update({
            "timer": timer_name, "unit": "ms", **(extra or {}),
            "median_ms": summary["median"],
            "median_ci_ms": [summary["median_ci_low"], summary["median_ci_high"]]})
        return summary

    def _check_unused(self) -> None:
        if getattr(self.benchmark, "_mode", None):
            raise pytest.UsageError("harness_benchmark can measure once per test "
                                    f"(already used in {self.benchmark._mode} mode)")

    def _claim(self) -> None:
        self._check_unused()
        if not hasattr(self.benchmark, "_make_stats"):
            raise pytest.UsageError("this pytest-benchmark has no _make_stats; "
                                    "trt-harness needs pytest-benchmark >= 4.0")
        self.benchmark._mode = "harness_benchmark(...)"


def _seconds(value: str | float) -> float:
    from harness.units import parse_duration

    return parse_duration(value)


@pytest.fixture
def harness_benchmark(request: pytest.FixtureRequest) -> HarnessBenchmark:
    """Benchmark with the harness's timer; results stored through pytest-benchmark."""
    try:
        benchmark = request.getfixturevalue("benchmark")
    except pytest.FixtureLookupError:
        raise pytest.UsageError("harness_benchmark needs the pytest-benchmark plugin "
                                "(is it disabled with -p no:benchmark?)") from None
    return HarnessBenchmark(benchmark)
