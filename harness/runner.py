"""Run cases: prepare -> bind inputs -> warm-up -> measure -> summarise, one case at a time,
each preparation (one per memory layout) a :class:`~harness.timing.session.MeasuringSession`.

One failing case never sinks the matrix: its error is recorded and the next case runs. The
run file is flushed after every case, so Ctrl-C loses nothing already measured.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.backends import backend_class
from harness.backends.base import Backend, Engine
from harness.errors import CaseSkipped
from harness.layout import (
    DEFAULT_LAYOUTS,
    FIRST_CONTEXT,
    Layout,
    derived_seed,
    next_context,
    prepared,
    random_seed,
)
from harness.markers import case_range, nvtx_range, scenario_range
from harness.models.source import model_digest, resolve_source
from harness.pipeline.case import finish_case, record_memory
from harness.pipeline.memory import RssPeak
from harness.results import CaseResult, ResultWriter
from harness.scenario.expand import Case
from harness.stats import summarize, throughput
from harness.telemetry import host
from harness.timing.measure import Measurement
from harness.timing.mode import ModeChoice
from harness.timing.session import MeasuringSession, no_gpu_reason, record_build

# trtexec's warning threshold for an unstable measurement.
CV_WARN = 0.025


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def case_started(self, index: int, case: Case) -> None: ...
    def case_finished(self, index: int, result: CaseResult) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None: ...
    def case_started(self, index: int, case: Case) -> None: ...
    def case_finished(self, index: int, result: CaseResult) -> None: ...
    def stop(self) -> None: ...


@dataclass
class PlannedCase:
    case: Case
    base_dir: str | None = None       # the scenario file's folder (relative model paths)


def run_cases(planned: list[PlannedCase], writer: ResultWriter,
              progress: Progress | None = None) -> None:
    progress = progress or NoProgress()
    progress.start(len(planned))
    try:
        writer.run.startup_s.update(start_backends([p.case for p in planned]))
        writer.flush()
        for first, group in scenario_groups(planned):
            with scenario_range(group[0].case.scenario, len(group)):
                for i, item in enumerate(group, first):
                    _run_one(i, item, writer, progress)
    finally:
        progress.stop()


def scenario_groups(planned: list[PlannedCase]) -> list[tuple[int, list[PlannedCase]]]:
    """Consecutive cases of one scenario (one NVTX scenario range each), with the run index
    of each group's first case."""
    groups: list[tuple[int, list[PlannedCase]]] = []
    for i, item in enumerate(planned):
        if groups and groups[-1][1][-1].case.scenario == item.case.scenario:
            groups[-1][1].append(item)
        else:
            groups.append((i, [item]))
    return groups


class CaseInterrupted(KeyboardInterrupt):
    """Ctrl-C after a case's first layout was measured: ``result`` holds the layouts it
    finished (status "interrupted"), for the run to write before it stops."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.error or "interrupted by the user")
        self.result = result


def _run_one(i: int, item: PlannedCase, writer: ResultWriter, progress: Progress) -> None:
    progress.case_started(i, item.case)
    try:
        result = run_case(item.case, item.base_dir, index=i)
    except CaseInterrupted as exc:
        writer.add(exc.result)
        raise
    except KeyboardInterrupt:
        writer.add(CaseResult(id=item.case.id, status="interrupted",
                              case=item.case.to_json(), error="interrupted by the user"))
        raise
    writer.add(result)
    progress.case_finished(i, result)


def start_backends(cases: list[Case]) -> dict[str, float]:
    """Each available backend's process-wide start-up, timed once (``Backend.startup``).
    A start-up that fails is left to the cases, which then report why."""
    seconds: dict[str, float] = {}
    by_backend: dict[str, list[Case]] = {}
    for case in cases:
        if not case.skip:
            by_backend.setdefault(case.backend, []).append(case)
    for name, group in by_backend.items():
        cls = backend_class(name)
        if cls.unavailable_reason():
            continue
        t0 = time.perf_counter()
        try:
            with nvtx_range("startup", f"startup {name}"):
                cls.startup(group)
        except Exception:
            continue
        seconds[name] = round(time.perf_counter() - t0, 4)
    return seconds


# The digest of what this process has prepared so far (harness.layout.preparation_context):
# the context a case's seeded layouts depend on. Per process, so a Dask worker keeps its own.
_CONTEXT = FIRST_CONTEXT


def run_case(case: Case, base_dir: str | None = None, index: int | None = None
             ) -> CaseResult:
    result = CaseResult(id=case.id, status="ok", case=case.to_json(),
                        backend={"name": case.backend})
    if case.skip:
        return _skipped(result, case.skip)
    cls = backend_class(case.backend)
    reason = cls.unavailable_reason()
    if reason:
        return _skipped(result, reason)
    global _CONTEXT
    context = _CONTEXT
    try:
        return _run_case(case, base_dir, index, cls, result, context)
    finally:
        if result.status != "skipped":      # a case skipped inside prepared nothing
            _CONTEXT = next_context(context, prepared(result.case, result.timing))


def _run_case(case: Case, base_dir: str | None, index: int | None, cls: type[Backend],
              result: CaseResult, context: str) -> CaseResult:
    try:
        result.backend["version"] = cls.version()
        with case_range(case.id, index), RssPeak() as rss:
            source = resolve_source(case.source, base_dir, case.seed)
            result.case["model_sha256"] = model_digest(source)
            layouts = case_layouts(case, cls)
            timed = per_layout(case, len(layouts))
            with MeasuringSession(timed, source, cls, layouts[0]) as session:
                engine = session.prepare(payload=case.batch)
                if engine.build_only:
                    record_build(engine, result)
                    record_memory(result, source, None)
                else:
                    outputs = _measure_engine(session, result)
                    _introspect(engine, result)
                    finish_case(case, engine, source, session.feed, outputs, result,
                                session.load_s, base_dir, rss)
            if len(layouts) > 1 and not engine.build_only:
                _measure_layouts(same_mode(timed, result), cls, source, layouts, result)
                result.timing["layouts_from"] = _layouts_from(case)
                result.timing["layout_seed"] = case.layout_seed
                if case.layout_base:
                    result.timing["layout_base"] = case.layout_base
                result.timing["layout_seeds_from"] = layout_seeds_from(case)
                result.timing["layout_context"] = context
    except CaseSkipped as exc:
        return _skipped(result, str(exc))
    except Exception as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        result.warnings.append("".join(traceback.format_exception_only(exc)).strip()
                               if not str(exc) else _where(exc))
    return result


def case_layouts(case: Case, cls: type[Backend]) -> list[Layout | None]:
    """The layouts a case is measured in: ``[None]`` (as allocated) unless ``timing.layouts``
    asks for several, or, where it is unset and the backend can place its memory, the count
    the case's accepted runs ask for (``Case.history_layouts``, else
    :data:`~harness.layout.DEFAULT_LAYOUTS`); each a fresh random draw (seeds recorded with
    the result), or, with ``Case.layout_seed`` (``run --layout-seed``), drawn from it and the
    case's id, the same in every process; or, where the case has accepted runs with seeded
    layouts (``Case.history_layout_seed``), the newest one's seeds again, so that each layout
    of the run has its twin in the baseline (:func:`layout_seeds_from` says which). The count
    is fixed before the first layout is measured."""
    n = case.timing.layouts
    if n is None:
        n = (case.history_layouts or DEFAULT_LAYOUTS) if cls.randomizes_layout else 1
    if n <= 1:
        return [None]
    if case.layout_seed is not None:
        first = derived_seed(case.layout_seed, case.id)
    elif case.history_layout_seed is not None:
        first = case.history_layout_seed
    else:
        first = random_seed()
    return [Layout(first + i, base=case.layout_base) for i in range(n)]


def layout_seeds_from(case: Case) -> str:
    """Where a case's layout seeds came from (recorded as ``timing.layout_seeds_from``):
    ``run --layout-seed``, the history (the newest accepted run's seeds, replayed), or a fresh
    random draw."""
    if case.layout_seed is not None:
        return "layout-seed"
    return "history" if case.history_layout_seed is not None else "random"


def per_layout(case: Case, n: int) -> Case:
    """The stop rule of one layout's share: the case's time split between its layouts."""
    if n <= 1:
        return case
    stop = case.stop.model_copy(update={"min_time": case.stop.min_time / n,
                                        "max_time": case.stop.max_time / n})
    return dataclasses.replace(case, stop=stop)


def _measure_layouts(case: Case, cls: type[Backend], source: Any,
                     layouts: list[Layout | None], result: CaseResult) -> None:
    """Prepare and time the case again in each further layout; the result's samples become
    all layouts' samples in order, and ``timing.layout_figures`` holds each layout's figures."""
    per = [_layout_figures(layouts[0], result.samples_ms, cls)]
    samples = list(result.samples_ms)
    try:
        for layout in layouts[1:]:
            again = CaseResult(id=case.id, status="ok", case=result.case)
            with nvtx_range("layout"), MeasuringSession(case, source, cls, layout) as session:
                session.prepare(phase=None)     # the "layout" range stands for its build
                _measure_engine(session, again)
            per.append(_layout_figures(layout, again.samples_ms, cls))
            samples += again.samples_ms
            both = host.combine(*(host.HostLoad.from_json(t["host"]) if (t or {}).get("host")
                                  else None for t in (result.telemetry, again.telemetry)))
            if both is not None:        # every layout's window: the host over the whole case
                result.telemetry = {**(result.telemetry or {}), "host": both.to_json()}
    except KeyboardInterrupt as exc:
        # the layouts finished so far are kept (written, not judged: the verdict of a case
        # that is not "ok" reads "failed" with this reason)
        result.status = "interrupted"
        result.error = f"interrupted by the user after {len(per)} of {len(layouts)} layouts"
        raise CaseInterrupted(result) from exc
    finally:
        result.samples_ms = samples
        result.stats_ms = summarize(samples, case.stop.confidence)
        result.throughput = throughput(case.batch, result.stats_ms["median"] / 1e3)
        result.timing["layout_figures"] = per


def same_mode(case: Case, result: CaseResult) -> Case:
    """``case`` timed in the mode its first measurement chose (an auto mode is chosen once
    per case: layouts timed in different modes would not be replicates of one figure)."""
    chosen = ModeChoice.from_facts(result.timing)
    return case if chosen is None else dataclasses.replace(case, chosen_mode=chosen)


def _layouts_from(case: Case) -> str:
    """Where a case's layout count came from (recorded beside the figures)."""
    if case.timing.layouts is not None:
        return "scenario"
    return "history" if case.history_layouts else "default"


def _layout_figures(layout: Layout | None, samples_ms: list[float],
                    cls: type[Backend]) -> dict[str, Any]:
    x = np.asarray(samples_ms, dtype=float)
    return {"seed": layout.seed if layout else None, "applied": bool(cls.randomizes_layout),
            "n": len(x), "median_ms": float(np.median(x)),
            "p99_ms": float(np.percentile(x, 99))}


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    frame = tb[-1] if tb else None
    return f"raised at {frame.filename}:{frame.lineno}" if frame else ""


def _skipped(result: CaseResult, reason: str) -> CaseResult:
    result.status, result.error = "skipped", reason
    return result


def _measure_engine(session: MeasuringSession, result: CaseResult) -> dict[str, np.ndarray]:
    """Time the session's engine and record it into ``result``; the outputs of its last
    inference."""
    case, engine = session.case, session.engine
    assert engine is not None
    feed = session.prepare_feed()
    result.shapes = {k: list(v.shape) for k, v in feed.items()}
    no_gpu = no_gpu_reason(engine)
    if no_gpu:
        # Only a test double can be async without a GPU: time it with the host clock.
        result.warnings.append(f"async engine without a CUDA device: timed with the host "
                               f"clock ({no_gpu})")
    with session.timed(sm_clock_probe=case.telemetry.sm_clock_probe):
        session.bind()
        m = session.measure()
        outputs = engine.fetch_outputs()
        effective = _with_static_batch(case, engine)
        _record(effective, engine, m, outputs, result)
        if session.on_gpu:
            from harness.timing.gpu_case import record_gpu

            record_gpu(session, m, result)
    result.case["batch"] = effective.batch
    return outputs


def _introspect(engine: Engine, result: CaseResult) -> None:
    """The engine's findings after its timed run (layer info, per-layer times): once per
    case, never for the further layouts of ``timing.layouts``, which only add samples."""
    found = engine.introspect()
    result.build.update(found.get("build", {}))
    if found.get("layers") is not None:
        result.layers = found["layers"]
        result.build["layer_count"] = len(found["layers"])


def _with_static_batch(case: Case, engine: Engine) -> Case:
    """Without shapes from the scenario, a model whose first input has a *static* leading
    dimension runs that many items per inference (e.g. 10x3x32x32): throughput counts them."""
    first = engine.inputs[0] if engine.inputs else None
    if case.profile is not None or first is None or not first.shape:
        return case
    lead = first.shape[0]
    if isinstance(lead, int) and lead > 0 and lead != case.batch:
        case = dataclasses.replace(case, batch=lead)
    return case


def _record(case: Case, engine: Engine, m: Measurement, outputs: dict[str, np.ndarray],
            result: CaseResult) -> None:
    samples_ms = [s * 1e3 for s in m.samples]
    stats = summarize(samples_ms, case.stop.confidence)
    result.samples_ms = [round(s, 6) for s in samples_ms]
    result.stats_ms = stats
    result.throughput = throughput(case.batch, stats["median"] / 1e3)
    record_build(engine, result)
    # The scenario's choices first, then what actually happened (timer "auto" -> "host").
    result.timing = {**case.timing.model_dump(), "build_only": False, "timer": m.timer,
                     "warmup_s": m.warmup_s, "warmup_iterations": m.warmup_iterations,
                     "measure_s": m.wall_s, "stop_reason": m.stop_reason, "settled": m.settled,
                     "inject_delay_s": case.inject_delay, **m.extra.get("mode", {})}
    result.memory = {**engine.memory()}   # + model, host RSS: harness.pipeline.case
    if m.extra.get("host"):
        # what competed for the CPU while a host-timed case was measured (the verdict reads it)
        result.telemetry = {**(result.telemetry or {}), "host": m.extra["host"]}
    result.build["outputs"] = {k: list(v.shape) for k, v in outputs.items()}
    if stats["cv"] > CV_WARN:
        result.warnings.append(f"unstable: CoV {stats['cv']:.1%} > {CV_WARN:.1%} (trtexec's "
                               "threshold)")
    if not m.stop_reason.startswith("converged"):
        result.warnings.append(f"stopped by {m.stop_reason} before the median's CI reached "
                               f"±{case.stop.rel_ci:.2%} (got ±{stats['rel_ci']:.2%})")
    _check_outputs(outputs, result)


def _check_outputs(outputs: dict[str, np.ndarray], result: CaseResult) -> None:
    """Fail a case whose float output is all NaN/inf; warn where only some values are."""
    floats = {k: v for k, v in outputs.items() if v.dtype.kind in "fc" and v.size}
    useless = [k for k, v in floats.items() if not np.isfinite(v).any()]
    if useless:
        # A model that computes only NaN/inf is broken however fast it is: the timing is
        # kept, the case fails.
        result.status = "failed"
        result.error = (f"every value of output(s) {', '.join(map(repr, useless))} is NaN or "
                        "infinite")
    bad = [k for k, v in floats.items() if k not in useless and not np.isfinite(v).all()]
    if bad:
        result.warnings.append(f"non-finite values in outputs {bad}")


def case_base_dir(path: str | Path) -> str:
    return str(Path(path).resolve().parent)
