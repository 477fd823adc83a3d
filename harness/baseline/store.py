"""The baseline store: ``baselines/<platform-id>/<scenario>.json``, plain JSON (documented in
docs/results-format.md), one history of accepted runs per case, written atomically under a
file lock so concurrent accepts cannot corrupt it.

Lifecycle: :meth:`BaselineStore.accept` (one run or several), :meth:`~BaselineStore.history`
(the last N entries per case), :meth:`~BaselineStore.prune`. A run from another platform is
refused with what differs; a case whose backend version or precision changed needs
``replace=True`` (its old history is not comparable any more).
"""

from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.baseline.verdict import (
    DEFAULT_KEEP_RUNS,
    LAYOUT_TRIM,
    TIMING_METRICS,
    estimate,
    layout_figures,
)
from harness.errors import ConfigError, validation_problems
from harness.fsutil import atomic_write_json, confined, file_lock
from harness.platform import platform_differences
from harness.results import CaseResult, RunResult, now_iso, read_json
from harness.timing.mode import mode_change
from harness.verdict.clocks import sm_clock_mhz

SCHEMA = "trt-harness/baseline/1"
DEFAULT_KEEP = DEFAULT_KEEP_RUNS   # accepted runs kept per case (--keep)
MAX_STORED_SAMPLES = 5000
ESTIMATE_BLOCKS = 10


class _Entry(BaseModel):
    """What judging and reporting read from an accepted entry (the rest is kept as is)."""

    model_config = ConfigDict(extra="allow")
    run_id: str
    stats_ms: dict[str, float | None] = {}
    samples_ms: list[float] = []
    backend: dict[str, Any] = {}
    case: dict[str, Any] = {}
    estimates: dict[str, dict[str, Any]] = {}


class BaselineFile(BaseModel):
    """The typed schema a baseline file is checked against when it is read."""

    model_config = ConfigDict(extra="allow")
    schema_: Literal["trt-harness/baseline/1"] = Field(alias="schema")
    platform_id: str
    scenario: str
    platform: dict[str, Any]
    cases: dict[str, list[_Entry]]


class BaselineStore:
    def __init__(self, root: str | Path = "baselines") -> None:
        self.root = Path(root)
        # Read-only lookups (one per case when judging and reporting) parse each scenario's
        # file once; keyed by the file's identity so a file rewritten since is read again.
        self._read: dict[Path, tuple[tuple[int, int], dict[str, Any] | None]] = {}

    def path(self, platform_id: str, scenario: str) -> Path:
        # Both names come from results files: confined, so '../../x' cannot leave the store.
        return confined(self.root, platform_id, f"{scenario}.json",
                        what="platform id or scenario")

    def load(self, platform_id: str, scenario: str) -> dict[str, Any] | None:
        path = self.path(platform_id, scenario)
        if not path.exists():
            return None
        data = read_json(path, "baseline file")
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"not a baseline file (schema {found!r})", file=str(path),
                              expected=SCHEMA)
        try:
            BaselineFile.model_validate(data)
        except ValidationError as exc:
            problems = validation_problems(exc)
            raise ConfigError("damaged baseline file: " + "; ".join(problems[:5]),
                              file=str(path)) from None
        except RecursionError:
            raise ConfigError("damaged baseline file: nested too deeply", file=str(path)) \
                from None
        return data

    def check(self, platform_id: str, scenarios: list[str]) -> None:
        """Read every baseline file a run will judge against, before anything is measured: a
        damaged one is an error now (exit 2), not after the whole matrix has run."""
        for scenario in scenarios:
            self._load_cached(platform_id, scenario)

    def scenarios(self, platform_id: str) -> list[str]:
        return sorted(p.stem for p in confined(self.root, platform_id, what="platform id"
                                               ).glob("*.json"))

    def platforms(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) \
            if self.root.exists() else []

    def _load_cached(self, platform_id: str, scenario: str) -> dict[str, Any] | None:
        path = self.path(platform_id, scenario)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        hit = self._read.get(path)
        if hit is None or hit[0] != key:
            hit = (key, self.load(platform_id, scenario))
            self._read[path] = hit
        return hit[1]

    def entries(self, run: RunResult, case: CaseResult) -> tuple[list[dict[str, Any]], list[str]]:
        """Accepted entries for ``case`` and the platform differences (non-empty: refuse)."""
        data = self._load_cached(run.platform_id, case.case["scenario"])
        if data is None:
            return [], []
        diffs = platform_differences(data.get("platform", {}), run.platform)
        return data["cases"].get(case.id, []), diffs

    def case_entries(self, platform_id: str, scenario: str, case_id: str
                     ) -> list[dict[str, Any]]:
        """Accepted entries of one case by its ids, before any run exists (planning)."""
        data = self._load_cached(platform_id, scenario)
        return data["cases"].get(case_id, []) if data else []

    def accept(self, run: RunResult, keep: int = DEFAULT_KEEP, cases: list[str] | None = None,
               replace: bool = False) -> list[Path]:
        """Append the run's measured cases to their histories (newest last, ``keep`` kept).

        ``cases`` are globs over case ids. Refuses a run from another platform, and a case
        whose backend version or precision differs from its history unless ``replace``."""
        by_scenario: dict[str, list[CaseResult]] = {}
        for c in run.cases:
            if c.status == "ok" and (cases is None or any(fnmatch.fnmatchcase(c.id, g)
                                                          for g in cases)):
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
                    new = entry(run, c)
                    changed = history and _identity_change(history[-1], new)
                    if changed and not replace:
                        raise ConfigError(f"{c.id}: {changed}; the old history is not comparable "
                                          "(accept with --replace to start a new one)")
                    history = [] if changed else history
                    history.append(new)
                    data["cases"][c.id] = history[-keep:]
                data["updated"] = now_iso()
                atomic_write_json(path, data)
            written.append(path)
        return written

    def history(self, platform_id: str, pattern: str = "*",
                last: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """The last ``last`` accepted entries of every case matching ``pattern``."""
        out: dict[str, list[dict[str, Any]]] = {}
        for scenario in self.scenarios(platform_id):
            data = self.load(platform_id, scenario) or {}
            for case_id, entries in data.get("cases", {}).items():
                if fnmatch.fnmatchcase(case_id, pattern):
                    out[case_id] = entries[-last:] if last else entries
        return out

    def prune(self, platform_id: str, keep: int, pattern: str = "*") -> dict[str, int]:
        """Keep only the newest ``keep`` entries of matching cases (``keep=0`` removes the
        cases). Returns the number of entries removed per case."""
        removed: dict[str, int] = {}
        for scenario in self.scenarios(platform_id):
            path = self.path(platform_id, scenario)
            with file_lock(path):
                data = self.load(platform_id, scenario)
                if data is None:
                    continue
                for case_id in list(data["cases"]):
                    if not fnmatch.fnmatchcase(case_id, pattern):
                        continue
                    entries = data["cases"][case_id]
                    kept = entries[-keep:] if keep else []
                    if len(kept) < len(entries):
                        removed[case_id] = len(entries) - len(kept)
                    if kept:
                        data["cases"][case_id] = kept
                    else:
                        del data["cases"][case_id]
                data["updated"] = now_iso()
                atomic_write_json(path, data)
        return removed


def _identity_change(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    ob, nb = old.get("backend") or {}, new.get("backend") or {}
    if ob.get("name") != nb.get("name"):
        return f"backend {ob.get('name')} -> {nb.get('name')}"
    if ob.get("version") != nb.get("version"):
        return f"{nb.get('name')} version {ob.get('version')} -> {nb.get('version')}"
    if old.get("precision") != new.get("precision"):
        return f"precision {old.get('precision')} -> {new.get('precision')}"
    # a batched figure and a per-iteration one are different measurements (harness.timing.mode)
    return mode_change(new, old)


def entry(run: RunResult, c: CaseResult) -> dict[str, Any]:
    """One accepted run of one case. Timing estimates are computed from the full samples
    before the stored samples are thinned, so thinning never changes a verdict."""
    # the view the current run is judged by: with several layouts, their figures (the
    # layouts are the replicates), else the samples; an estimate from the pooled samples of
    # several layouts is another statistic (squeezenet1_1, H200: 0.28 % from the layouts' mean)
    view = {"samples_ms": c.samples_ms, "stats_ms": c.stats_ms, "timing": c.timing}
    estimates = {}
    for metric in TIMING_METRICS:
        est = estimate(view, metric, ESTIMATE_BLOCKS)
        if est is not None and math.isfinite(est.within_se):
            # over layouts: tagged with the trim it was made with (harness.baseline.verdict)
            estimates[metric] = ({**est.to_json(), "layout_trim": LAYOUT_TRIM}
                                 if len(layout_figures(view)) >= 2 else est.to_json())
    samples = c.samples_ms
    if len(samples) > MAX_STORED_SAMPLES:   # keep the file reviewable: an even thinning
        step = len(samples) / MAX_STORED_SAMPLES
        samples = [samples[int(i * step)] for i in range(MAX_STORED_SAMPLES)]
    telemetry = c.telemetry or {}
    return {"run_id": run.run_id, "accepted": now_iso(), "started": run.started,
            "commit": run.commit, "harness_version": run.harness_version, "backend": c.backend,
            "precision": c.precision, "case": c.case, "stats_ms": c.stats_ms,
            "estimates": estimates, "throughput": c.throughput, "build": c.build,
            "memory": c.memory, "accuracy": c.accuracy, "layers": c.layers,
            "flagged_share": telemetry.get("flagged_share"), "host": telemetry.get("host"),
            "sm_clock_mhz": sm_clock_mhz({"telemetry": telemetry}),
            "timing": c.timing,
            "samples_ms": samples}


def between_run_cv(entries: list[dict[str, Any]]) -> float | None:
    """The CV of the accepted runs' medians (what `baseline show` reports)."""
    meds = [e["stats_ms"]["median"] for e in entries if (e.get("stats_ms") or {}).get("median")]
    if len(meds) < 2:
        return None
    logs = [math.log(m) for m in meds]
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
