"""Result records and their one JSON serialisation path (schema ``trt-harness/results/1``,
documented in docs/results-format.md).

A run file is rewritten atomically as cases finish (at most once a second) and always at the
end, on Ctrl-C and on failure, so an interrupted run keeps everything it measured
(``complete`` stays false).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import PlainValidator

from harness import __version__
from harness.errors import ConfigError, validation_problems
from harness.fsutil import atomic_write_json
from harness.verdict.records import Verdict

SCHEMA = "trt-harness/results/1"
STATUSES = ("ok", "failed", "skipped", "interrupted")


def _read_verdict(value: Any) -> Verdict | None:
    """A stored verdict (any results file's, older ones too) as its record."""
    if value is None:
        return None
    if not isinstance(value, dict | Verdict):
        raise ValueError(f"a verdict is an object, not {type(value).__name__}")
    return Verdict.read(value)


@dataclass
class CaseResult:
    id: str
    status: str                              # ok | failed | skipped | interrupted
    case: dict[str, Any]
    backend: dict[str, str] = field(default_factory=dict)    # name, version
    error: str | None = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)      # timer, warm-up, stop reason...
    samples_ms: list[float] = field(default_factory=list)     # raw, in the order taken
    stats_ms: dict[str, float | None] = field(default_factory=dict)   # None: not defined
    throughput: float | None = None                           # items/s at the median
    build: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, int | None] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)      # stage -> stats_ms (+ samples)
    layers: list[dict[str, Any]] | None = None                # per-layer info / timing
    telemetry: dict[str, Any] | None = None
    accuracy: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    # written and read through Verdict.to_json / from_json only (_json, _read_verdict)
    verdict: Annotated[Verdict | None, PlainValidator(_read_verdict)] = None
    # Set only where the case ran on another platform than the run's (a Dask worker on another
    # GPU or host, a merge of several platforms): it is judged against that platform's baseline.
    platform_id: str | None = None
    platform: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # a verdict given as its JSON (a hand-built result) is held as its record
        self.verdict = _read_verdict(self.verdict)

    @property
    def precision(self) -> str:
        return self.case.get("precision", "")

    def figures(self) -> dict[str, Any]:
        """The case's figures by their names in :data:`harness.metrics.METRICS`: the latency
        statistics, the throughput and the verdict's change."""
        return {**(self.stats_ms or {}), "throughput": self.throughput,
                "change": self.verdict.change if self.verdict else None}


@dataclass
class RunResult:
    run_id: str
    started: str
    platform: dict[str, Any]
    platform_id: str
    scenarios: list[dict[str, str]] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    finished: str | None = None
    complete: bool = False
    harness_version: str = __version__
    schema: str = SCHEMA
    command: list[str] = field(default_factory=list)
    ab: list[dict[str, Any]] = field(default_factory=list)    # paired A/B comparisons
    # seconds of process-wide initialisation per backend (imports, CUDA context), measured
    # once before the first case so that no case's load time carries it
    startup_s: dict[str, float] = field(default_factory=dict)
    commit: dict[str, Any] | None = None      # what was measured (harness.commit); None: no git
    shard: dict[str, Any] | None = None       # index, count, case_ids (harness.scale.shard)
    merged_from: list[dict[str, Any]] = field(default_factory=list)   # harness.scale.merge

    def to_json(self) -> dict[str, Any]:
        return _json(self)

    @classmethod
    def from_json(cls, data: Any, source: str | None = None) -> RunResult:
        """The run a results file holds, checked against these records' types (the one typed
        schema of the file); :class:`ConfigError` naming ``source`` and the first bad keys.
        Keys this version does not know are ignored (newer files stay readable)."""
        from pydantic import TypeAdapter, ValidationError

        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"not a trt-harness results file (schema {found!r})",
                              file=source, expected=SCHEMA)
        try:
            run = TypeAdapter(cls).validate_python(data)
        except ValidationError as exc:
            problems = validation_problems(exc)
            raise ConfigError("damaged results file: " + "; ".join(problems[:5])
                              + (f" (and {len(problems) - 5} more)" if len(problems) > 5
                                 else ""), file=source) from None
        except RecursionError:
            raise ConfigError("damaged results file: values nested too deeply",
                              file=source) from None
        for i, c in enumerate(run.cases):
            # What every reader keys on: the status and the scenario (store file, grouping).
            if c.status not in STATUSES or not isinstance(c.case.get("scenario"), str):
                raise ConfigError(f"damaged results file: cases.{i} ({c.id!r}) needs a status "
                                  f"in {STATUSES} and case.scenario", file=source)
        for r in run.ab:
            # an A/B record is the measuring's own dict; only its verdict is a record
            if r.get("verdict"):
                try:
                    r["verdict"] = _read_verdict(r["verdict"])
                except ValueError as exc:
                    raise ConfigError(f"damaged results file: ab verdict: {exc}",
                                      file=source) from None
        return run

    def case(self, case_id: str) -> CaseResult | None:
        return next((c for c in self.cases if c.id == case_id), None)


def _json(obj: Any) -> Any:
    """The JSON value of a record, a copy: verdicts through their own path
    (:meth:`Verdict.to_json`), other dataclasses field by field, as ``asdict`` would. JSON
    has no inf/nan; None says "not defined" (e.g. the CV of one sample)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Verdict):
        return _json(obj.to_json())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json(v) for v in obj]
    return obj


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


RUN_ID_ENV = "TRT_HARNESS_RUN_ID"
_RUN_ID = re.compile(r"\d{8}T\d{12}Z")


def new_run_id() -> str:
    """A UTC time stamp; ``TRT_HARNESS_RUN_ID`` (set by ``trt-harness profile``, so the
    profile is named after the run it records) when it holds one."""
    given = os.environ.get(RUN_ID_ENV, "")
    if _RUN_ID.fullmatch(given):
        return given
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


class ResultWriter:
    """Keeps the run file on disk current: rewritten atomically after a case, unless the last
    rewrite was so recent that rewriting now would spend more than ``write_share`` of the time
    writing (each rewrite serialises the whole run, so rewriting after every case is quadratic
    in the cases: 117 ms per case at 24 quick cases), and at least once per
    ``min_interval_s`` of added cases. A cheap file is thus rewritten after every case (a
    result never waits in memory behind a long next case for want of a rewrite 1 s ago).
    :meth:`flush` and :meth:`finish` always write; the run calls them at the end, on Ctrl-C and
    on failure."""

    def __init__(self, run: RunResult, path: str | Path | None,
                 min_interval_s: float = 1.0, write_share: float = 0.1) -> None:
        self.run = run
        self.path = Path(path) if path else None
        self.min_interval_s = min_interval_s
        self.write_share = write_share
        self._written = float("-inf")
        self._write_s = 0.0

    def add(self, result: CaseResult) -> None:
        self.run.cases.append(result)
        wait = min(self.min_interval_s, self._write_s / self.write_share)
        if time.monotonic() - self._written >= wait:
            self.flush()

    def flush(self) -> None:
        if self.path is not None:
            t0 = time.monotonic()
            atomic_write_json(self.path, self.run.to_json())
            self._written = time.monotonic()
            self._write_s = self._written - t0

    def finish(self) -> None:
        self.run.finished = now_iso()
        self.run.complete = True
        self.flush()


def load_results(path: str | Path) -> RunResult:
    data = read_json(path, "results file")
    return RunResult.from_json(data, str(path))


def read_json(path: str | Path, what: str) -> Any:
    """A JSON file the harness reads back (results, baselines): every way it can be unusable
    (missing, a folder, not UTF-8, not JSON, too deep) is a :class:`ConfigError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} expected, found a folder", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} is not valid JSON ({exc})", file=str(path)) from None
    except (RecursionError, ValueError) as exc:
        raise ConfigError(f"{what} is not usable JSON ({type(exc).__name__})",
                          file=str(path)) from None
