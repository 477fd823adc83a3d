"""Export a run's results in pytest-benchmark's JSON format, so its tooling
(``pytest-benchmark compare``, ``--benchmark-compare``, codspeed-style dashboards) reads them.

Units follow pytest-benchmark: seconds per call, ``ops`` in calls per second. The statistics
are computed by pytest-benchmark's own :class:`pytest_benchmark.stats.Stats` from the raw
samples, so its columns mean exactly what they mean there. GPU, driver and backend facts go
into ``machine_info`` (pytest-benchmark's place for environment facts) and each case's
``extra_info``; the commit the run measured into ``commit_info``, with pytest-benchmark's keys.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from harness import commit
from harness.fsutil import atomic_write_json
from harness.results import RunResult


def _stats(samples_s: list[float]) -> dict[str, Any]:
    from pytest_benchmark.stats import Stats

    st = Stats()
    for s in samples_s:
        st.update(s)
    out = st.as_dict()
    out["iterations"] = 1
    out["data"] = samples_s
    return out


def to_pytest_benchmark(run: RunResult, include_data: bool = True) -> dict[str, Any]:
    """The run as a pytest-benchmark results document (one benchmark per measured case)."""
    from pytest_benchmark import __version__ as pb_version

    gpu = (run.platform or {}).get("gpu") or {}
    host = (run.platform or {}).get("host") or {}
    machine_info = {"node": run.platform_id, "processor": host.get("cpu"),
                    "machine": host.get("machine"), "python_version": host.get("python"),
                    "system": host.get("os"), "cpu": {"brand_raw": host.get("cpu"),
                                                      "count": host.get("cores")},
                    "gpu": gpu or None, "trt_harness": run.harness_version,
                    "trt_harness_run_id": run.run_id}
    benchmarks = []
    for c in run.cases:
        if c.status != "ok" or not c.samples_ms:
            continue
        stats = _stats([s / 1e3 for s in c.samples_ms])
        if not include_data:
            stats.pop("data")
        name = c.id.replace("/", "::")
        benchmarks.append({
            "group": c.case.get("scenario"), "name": name, "fullname": c.id,
            "params": {"backend": (c.backend or {}).get("name"), "precision": c.precision,
                       "batch": c.case.get("batch")},
            "param": f"{(c.backend or {}).get('name')}-{c.precision}-b{c.case.get('batch')}",
            "extra_info": {"backend_version": (c.backend or {}).get("version"),
                           "throughput": c.throughput, "timer": (c.timing or {}).get("timer"),
                           "verdict": c.verdict.status if c.verdict else None},
            "options": {"disable_gc": False, "timer": (c.timing or {}).get("timer", "host"),
                        "min_rounds": c.case.get("stop", {}).get("min_samples"),
                        "max_time": c.case.get("stop", {}).get("max_time"),
                        "min_time": c.case.get("stop", {}).get("min_time"), "warmup": True},
            "stats": stats,
        })
    when = run.finished or run.started
    try:
        dt = _dt.datetime.fromisoformat(when).isoformat()
    except (TypeError, ValueError):
        dt = _dt.datetime.now(_dt.UTC).isoformat()
    return {"machine_info": machine_info, "commit_info": commit.to_pytest_benchmark(run.commit),
            "benchmarks": benchmarks, "datetime": dt, "version": pb_version}


def write_pytest_benchmark(run: RunResult, path: str | Path, include_data: bool = True) -> Path:
    """Write the export; name the file ``NNNN_label.json`` inside a pytest-benchmark storage
    folder (``.benchmarks/<machine>/``) for ``pytest-benchmark compare`` to list it."""
    path = Path(path)
    atomic_write_json(path, to_pytest_benchmark(run, include_data))
    return path
