"""Ctrl-C loses nothing measured: the run file on disk holds every finished case."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigint_keeps_finished_cases(write_toml, tmp_path):
    # Case 1 is quick; case 2 is long enough (20 s cap, unreachable CI target, a sample cap
    # out of reach) to be interrupted mid-measurement.
    scenario = write_toml("""
        name = "ctrlc"
        [defaults]
        warmup = { min_time = "10ms", max_time = "100ms" }
        [[model]]
        id = "quick"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        stop = { rel_ci = "50%", min_samples = 5, min_time = "10ms", max_time = "200ms" }
        [[model]]
        id = "long"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        stop = { rel_ci = "0.0001%", min_time = "20s", max_time = "20s", max_samples = 10000000 }
    """)
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out",
                             str(out), "--baselines", str(tmp_path / "b"), "-q"],
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stderr=subprocess.PIPE, text=True,
                            # a shell without job control starts background jobs (`pytest &`)
                            # with SIGINT ignored, and the child would inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    run_file = None
    while time.monotonic() < deadline:
        files = list((out / "runs").glob("*.json")) if (out / "runs").exists() else []
        if files:
            data = json.loads(files[0].read_text())
            if len(data["cases"]) >= 1:
                run_file = files[0]
                break
        time.sleep(0.05)
    assert run_file is not None, "the first case never reached the run file"
    time.sleep(0.3)                      # the long case is now measuring
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    # issue 14: results.json (what CI accepts) is the partial run, marked incomplete, with
    # its report, and the message says where; never the previous run's file.
    latest = json.loads((out / "results.json").read_text())
    assert latest["complete"] is False and len(latest["cases"]) == 2
    assert (out / "index.html").exists() and (out / "junit.xml").exists()
    assert str(out / "results.json") in proc.stderr.read()
    data = json.loads(Path(run_file).read_text())
    assert data["complete"] is False
    statuses = [c["status"] for c in data["cases"]]
    assert statuses == ["ok", "interrupted"]
    assert data["cases"][0]["stats_ms"]["n"] >= 5
