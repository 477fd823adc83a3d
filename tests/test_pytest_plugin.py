"""The pytest plugin, run as a user would: a separate pytest process with --benchmark-json."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER_TESTS = '''
import time
from harness.timing.host import busy_wait

def test_callable(harness_benchmark):
    stats = harness_benchmark(busy_wait, 0.002, max_time="300ms", min_time="50ms",
                              rel_ci="5%", warmup="20ms")
    assert stats["n"] >= 20 and stats["median_ci_low"] <= stats["median"]

def test_model(harness_benchmark):
    harness_benchmark.model("zoo:transformer", shapes="input_ids:1x8", warmup="20ms",
                            duration="300ms", rel_ci="5%")

def test_twice_is_an_error(harness_benchmark):
    harness_benchmark(lambda: None, max_time="50ms", min_time="10ms", warmup="5ms")
    harness_benchmark(lambda: None)
'''


def _plugin_args() -> list[str]:
    # Installed (nox, pip install .): the pytest11 entry point loads it; a bare checkout: -p.
    eps = importlib.metadata.entry_points(group="pytest11")
    return [] if any(e.value == "harness.pytest_plugin" for e in eps) else [
        "-p", "harness.pytest_plugin"]


def test_results_stored_through_pytest_benchmark(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *_plugin_args(), f"--benchmark-json={out}", "test_user.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "1 failed, 2 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "can measure once per test" in proc.stdout
    data = json.loads(out.read_text())
    bench = {b["name"]: b for b in data["benchmarks"]}
    cb = bench["test_callable"]
    # the harness's samples, in seconds, as rounds of one iteration: the 2 ms busy-wait
    assert cb["options"]["timer"] == "harness:host" and cb["stats"]["iterations"] == 1
    assert 0.002 <= cb["stats"]["median"] < 0.05
    assert cb["extra_info"]["median_ms"] == cb["stats"]["median"] * 1e3 or abs(
        cb["extra_info"]["median_ms"] - cb["stats"]["median"] * 1e3) < 1e-9
    assert cb["stats"]["rounds"] >= 20
    model = bench["test_model"]
    assert model["extra_info"]["case"] == "bench/zoo-transformer/onnxruntime/fp32/b1"
    assert model["stats"]["rounds"] >= 10
