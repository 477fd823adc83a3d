"""The baseline store: ``baselines/<platform-id>/<scenario>.json``, plain JSON (documented in
docs/results-format.md), one history of accepted runs per case, written atomically under a
file lock so concurrent accepts cannot corrupt it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.fsutil import atomic_write_json, file_lock
from harness.platform import platform_differences
from harness.results import CaseResult, RunResult, now_iso

SCHEMA = "trt-harness/baseline/1"
DEFAULT_KEEP = 10
MAX_STORED_SAMPLES = 5000


class BaselineStore:
    def __init__(self, root: str | Path = "baselines") -> None:
        self.root = Path(root)

    def path(self, platform_id: str, scenario: str) -> Path:
        return self.root / platform_id / f"{scenario}.json"

    def load(self, platform_id: str, scenario: str) -> dict[str, Any] | None:
        path = self.path(platform_id, scenario)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"baseline file is not valid JSON: {exc}", file=str(path)) from None
        if data.get("schema") != SCHEMA:
            raise ConfigError(f"not a baseline file (schema {data.get('schema')!r})",
                              file=str(path), expected=SCHEMA)
        return data

    def entries(self, run: RunResult, case: CaseResult) -> tuple[list[dict[str, Any]], list[str]]:
        """Accepted entries for ``case`` and the platform differences (non-empty: refuse)."""
        data = self.load(run.platform_id, case.case["scenario"])
        if data is None:
            return [], []
        diffs = platform_differences(data.get("platform", {}), run.platform)
        return data["cases"].get(case.id, []), diffs

    def accept(self, run: RunResult, keep: int = DEFAULT_KEEP,
               cases: list[str] | None = None) -> list[Path]:
        """Append the run's measured cases to their histories (newest last, ``keep`` kept)."""
        by_scenario: dict[str, list[CaseResult]] = {}
        for c in run.cases:
            if c.status == "ok" and (cases is None or c.id in cases):
                by_scenario.setdefault(c.case["scenario"], []).append(c)
        written = []
        for scenario, results in by_scenario.items():
            path = self.path(run.platform_id, scenario)
            with file_lock(path):
                data = self.load(run.platform_id, scenario) or {
                    "schema": SCHEMA, "platform_id": run.platform_id, "scenario": scenario,
                    "platform": run.platform, "cases": {}}
                diffs = platform_differences(data["platform"], run.platform)
                if diffs:
                    raise ConfigError(f"{path}: the run's platform differs from the baseline's: "
                                      + "; ".join(diffs))
                for c in results:
                    history = [e for e in data["cases"].get(c.id, []) if e["run_id"] != run.run_id]
                    history.append(entry(run, c))
                    data["cases"][c.id] = history[-keep:]
                data["updated"] = now_iso()
                atomic_write_json(path, data)
            written.append(path)
        return written


def entry(run: RunResult, c: CaseResult) -> dict[str, Any]:
    samples = c.samples_ms
    if len(samples) > MAX_STORED_SAMPLES:   # keep the file reviewable: an even thinning
        step = len(samples) / MAX_STORED_SAMPLES
        samples = [samples[int(i * step)] for i in range(MAX_STORED_SAMPLES)]
    return {"run_id": run.run_id, "accepted": now_iso(), "harness_version": run.harness_version,
            "backend": c.backend, "precision": c.precision, "stats_ms": c.stats_ms,
            "throughput": c.throughput, "build": c.build, "memory": c.memory,
            "timing": c.timing, "samples_ms": samples,
            **({"layers": c.layers} if c.layers else {})}   # for the report's layer diff
