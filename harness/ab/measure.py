"""Measure two cases interleaved: both prepared and warmed first, then alternating blocks in
the balanced randomised order of :mod:`harness.ab.schedule`, each block after a short
re-warm, with the same inputs (where the two engines take the same tensors), the same kind of
timer and one telemetry window over the whole interleaved phase.

Each side is prepared ``instances`` times (default :data:`DEFAULT_INSTANCES`), in a balanced
order (ABBA or BAAB), each preparation in its own random memory layout
(:class:`harness.layout.Layout`, seeded and recorded), and block pair *p* measures instance
*p mod k* of both sides. Why: two preparations of the very same torch CUDA-graph model differ
by 0.07-1.7 % (memory placement, gpu.md), and with a fixed allocation order the same bias
repeats in every process — an A/A comparison of single preparations is a comparison of two
layouts. Many random layouts per side turn that bias into a variance that the paired verdict
measures from the preparations themselves (:func:`harness.comparison.compare_preparations`).

With ``redraw`` (opt-in; measured on the H200, docs/verdicts.md), both sides' measured
preparations also get a fresh layout for everything but their weights before every block pair
(:meth:`harness.backends.base.Engine.relayout`: new pads, new I/O buffers, the graph captured
again, the timer's step prepared again), for the price of one capture instead of a whole
preparation. The pairs of one preparation are then independent draws of the activations'
layout, the spread that dominates for some models (1-1.35 % SD on the H200 for squeezenet1_1
and shufflenet_v2_x1_0, against 0.1-0.3 % for most), while the preparations carry the weights'
placement as before. Each block records the layout seed it ran under.

Each preparation is a :class:`harness.timing.session.MeasuringSession`, as a run's case is:
the same preparation, timer choice (CUDA events on the harness stream for GPU engines, which
both sides share so that their work and events sit in one ordered queue; the host clock
otherwise) and inputs. The blocks are timed here, with one telemetry window
(:class:`harness.timing.session.TelemetryWindow`) over the interleaved phase.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.ab.schedule import block_order, order_text
from harness.backends import backend_class
from harness.backends.base import Engine
from harness.errors import CaseSkipped
from harness.layout import Layout, derived_seed, random_seed
from harness.markers import case_message, nvtx_range
from harness.models.source import resolve_source
from harness.results import now_iso
from harness.scenario.expand import Case
from harness.scenario.schema import DEFAULT_MAX_DURATION_S, Warmup
from harness.stats import summarize
from harness.telemetry import host
from harness.timing import analysis
from harness.timing.measure import Timer, warm_up
from harness.timing.session import MeasuringSession, TelemetryWindow, build_facts

MIN_PAIRS = 8
# Preparations (layouts) per side. The verdict's interval over preparation pairs has k - 1
# degrees of freedom: with 2 it had 1 (t = 31.8 at the 1 % level), so any real layout spread
# made every result ambiguous. Chosen on the tuning workloads (docs/verdicts.md).
DEFAULT_INSTANCES = 6
# The build facts an A/B record keeps per side (of :func:`harness.timing.session.build_facts`).
AB_BUILD_FACTS = ("build_time_s", "engine_bytes", "fingerprint")
# Processes per side an undecided interleaved comparison goes on to by default
# (ABSettings.escalate_processes), on the timers below only. 3 was chosen on the tuning model
# (shufflenet_v2_x1_0, simulated); on by default since its pre-registered rule was met on a
# reporting workload (squeezenet1_1 on the H200, +1 % "slower" in 20 of 20, no A/A called;
# session 26, docs/verdicts.md "Going on in processes"); kept after its second rule, no A/A
# called at this default on the reporting workloads it newly reaches (mobilenet_v3_small 22,
# spin:10 26), was met in session 28.
DEFAULT_ESCALATE_PROCESSES = 3
# Timers the default applies to. Its pre-registered rule is judged on the H200's CUDA-event
# timing only; on a host timer the process term (20 % median CV on the 2-core CI VM, the
# stored verdict's prior) is what processes would add, not cancel, and no chain was measured
# there, so host-timed comparisons go on in processes only when asked.
ESCALATING_TIMERS = ("cuda-event",)
# Raw samples kept per block in the record (the statistics use all of them).
MAX_BLOCK_SAMPLES = 2000


class ABInterrupted(KeyboardInterrupt):
    """Ctrl-C during an A/B: its ``records`` as far as they were measured (status
    "interrupted", every block kept), for the caller to write before it stops."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__("interrupted by the user")
        self.records = records


@dataclass
class ABSettings:
    """``duration_s`` of measuring in all (both sides), in blocks of about ``block_s``, each
    after ``rewarm_s`` of re-warm-up; ``tolerance`` per metric as in a scenario (a metric it
    leaves out: :func:`harness.ab.verdict.ab_tolerance`, by how the sides were timed)."""

    duration_s: float = 10.0
    block_s: float = 0.25
    rewarm_s: float = 0.05
    min_block_samples: int = 20
    instances: int = DEFAULT_INSTANCES
    seed: int = 0
    layout_seed: int | None = None     # None: drawn at random per run (and recorded)
    # A fresh layout of all but the weights before every block pair (module docstring).
    # Off by default: on the H200 it narrowed squeezenet1_1's intervals 1.5-2x at equal
    # measuring time but doubled the interleaved phase, and settled nothing more in 7 trials
    # (docs/verdicts.md, issue 20's panel).
    redraw: bool = False
    # An undecided comparison prepares more layouts and measures on while its block time
    # stays within this (0: never extend).
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    # The comparison's wall-clock limit (0: none): no extension round starts that would end
    # past it, counting the new preparations and the re-warms that max_duration_s leaves out
    # (undecided comparisons ran 40-93 s at max_duration_s 30 on the H200). The first look
    # always runs. Off by default, so the panel's slices stay comparable.
    max_wall_s: float = 0.0
    # Block pairs per new preparation in an extension round (0: as many as the first look
    # gave each, at least two). The preparations differ 3-60x more than the pairs of one
    # (docs/verdicts.md, "Where an A/B's time goes"), so 1 buys about twice the preparations
    # for the same block time: a candidate for squeezenet-like layout spreads, to be chosen
    # on the tuning half (shufflenet_v2_x1_0) before it becomes a default.
    extension_pairs: int = 0
    # Rounds of A and B each in a fresh process at one set of layout seeds, judged layout by
    # layout (harness.ab.processes; 0: interleaved in this process). An undecided one adds
    # processes, up to twice this, where that can settle it (max_duration_s 0: never;
    # max_wall_s caps it).
    processes: int = 0
    # Processes per side an interleaved comparison goes on to when it ends undecided because
    # its preparations are far apart (harness.ab.verdict.wants_processes; 0: it stays
    # undecided). Its looks continue the interleaved ones' alpha spending. None: the default
    # for the timer the comparison ran on (:meth:`escalate_for`), known only once it has run;
    # on since its pre-registered rule was met on hardware (docs/verdicts.md, "Going on in
    # processes").
    escalate_processes: int | None = None
    tolerance: dict[str, float] = field(default_factory=dict)

    def escalate_for(self, timer: str | None) -> int:
        """Processes per side an undecided comparison timed by ``timer`` goes on to: as
        asked, else the default where it applies (``ESCALATING_TIMERS``)."""
        if self.escalate_processes is not None:
            return self.escalate_processes
        return DEFAULT_ESCALATE_PROCESSES if timer in ESCALATING_TIMERS else 0

    @property
    def pairs(self) -> int:
        """Block pairs: the replicates of the paired verdict, so never fewer than
        ``MIN_PAIRS``, and never fewer than the preparations, each of which is measured at
        least once (blocks shrink instead). Pair *p* measures preparation *p mod k*: with
        fewer pairs than preparations the last ones were prepared and never measured (the
        verdict's own advice, "--instances 27", did that at the default 10 s)."""
        return max(MIN_PAIRS, self.instances, round(self.duration_s / (2 * self.block_s)))

    @property
    def effective_block_s(self) -> float:
        return self.duration_s / (2 * self.pairs)


@dataclass
class WallClock:
    """One comparison's wall time for ``max_wall_s``: when it began (its preparations
    included) and what one preparation of one side and one block pair (its re-warms and its
    round's warm-up included) have cost so far."""

    start: float
    per_preparation_s: float = 0.0
    per_pair_s: float = 0.0

    def projected(self, preparations: int, pairs: int) -> float:
        """Seconds since the start once ``preparations`` more and ``pairs`` more have run."""
        return (time.perf_counter() - self.start + preparations * self.per_preparation_s
                + pairs * self.per_pair_s)


@dataclass
class _Side:
    label: str
    case: Case
    instance: int = 0
    engine: Engine | None = None
    timer: Timer | None = None
    info: dict[str, Any] = field(default_factory=dict)
    per_call_s: float = 0.0
    step: Callable[[], None] | None = None      # what a timed sample calls (timer.prepare)
    warm: Callable[[], None] | None = None      # the same, waiting for the GPU each time

    def bind(self) -> None:
        """Bind once per series, then let the timer prepare the step."""
        assert self.engine is not None
        self.engine.bind(self.info["feed"])
        self.info["shapes"] = {k: list(v.shape) for k, v in self.info["feed"].items()}
        self._prepare_step()

    def _prepare_step(self) -> None:
        """The step as the timer prepares it for a run (its CUDA graph, copies, cold mode):
        A/B must time what ``run`` times."""
        assert self.engine is not None and self.timer is not None
        self.step = self.timer.prepare(self.engine.run)
        # Unsynchronised, an async engine's warm-up would queue seconds of GPU work that
        # the first block then waits behind, and its pace would be the host's, not the GPU's.
        self.warm = self.timer.warmup_step(self.step)

    def redraw(self, layout: Layout) -> bool:
        """A fresh ``layout`` for all but the weights, and the timer's step prepared again on
        the new buffers, the GPU idle afterwards (no capture's work may run into a block);
        False, with nothing changed, where the backend cannot re-place its memory."""
        assert self.engine is not None
        if not self.engine.relayout(layout):
            return False
        self._prepare_step()
        self.engine.synchronize()
        return True


def _prepare(side: _Side, base_dir: str | None, stack: contextlib.ExitStack,
             layout: Layout | None = None) -> None:
    """One preparation of a side: a measuring session (its engine, timer and inputs) that
    stays open, with ``stack``, until the comparison ends."""
    cls = backend_class(side.case.backend)
    reason = cls.unavailable_reason()
    if reason:
        raise CaseSkipped(f"side {side.label} ({side.case.id}): {reason}")
    side.info["backend"] = {"name": side.case.backend, "version": cls.version()}
    source = resolve_source(side.case.source, base_dir, side.case.seed)
    session = stack.enter_context(MeasuringSession(side.case, source, cls, layout))
    side.info["layout"] = (f"random (seed {layout.seed})" if session.backend.layout is not None
                           else "as allocated (the backend does not randomise its layout)")
    side.engine = session.prepare(f"build {side.label}")
    if side.engine.build_only:
        raise CaseSkipped(f"side {side.label} ({side.case.id}): the engine was built but "
                          "cannot run here")
    side.info["instance_spread"] = side.engine.instance_spread
    side.timer = session.open_timer()
    side.info["feed"] = session.prepare_feed()


def _same_inputs(a: _Side, b: _Side) -> bool:
    """A and B take the very same tensors: inputs of the same names and types, and feeds of
    the same shapes. Names and types alone let B run on A's inputs when only its shapes
    differed (``--shapes-b``): a 1x16 B was timed at A's 1x8."""
    assert a.engine is not None and b.engine is not None
    if [(t.name, t.dtype) for t in a.engine.inputs] != \
            [(t.name, t.dtype) for t in b.engine.inputs]:
        return False
    return ({k: np.shape(v) for k, v in a.info["feed"].items()}
            == {k: np.shape(v) for k, v in b.info["feed"].items()})


def measure_ab(case_a: Case, case_b: Case, settings: ABSettings | None = None,
               base_dir_a: str | None = None, base_dir_b: str | None = None,
               extend: Extend | None = None) -> dict[str, Any]:
    """Prepare both cases, measure them interleaved, and return the A/B record (without
    its verdict: :func:`harness.ab.verdict.judge` adds it)."""
    return measure_ab_series(case_a, case_b, [settings or ABSettings()], base_dir_a,
                             base_dir_b, extend)[0]


# Asked after each round of an extensible comparison: how many more preparations per side
# would settle it (0: it is settled, or more cannot help). harness.ab.plan gives the verdict's.
Extend = Callable[[dict[str, Any]], int]


def measure_ab_series(case_a: Case, case_b: Case, series: list[ABSettings],
                      base_dir_a: str | None = None, base_dir_b: str | None = None,
                      extend: Extend | None = None) -> list[dict[str, Any]]:
    """Prepare, bind and capture both cases once, then one interleaved comparison per
    settings in ``series`` (each warms up and alternates its blocks afresh): repeated
    comparisons of the same two engines, as the false-alarm and detection experiments need.

    With ``extend`` and a settings' ``max_duration_s``, a comparison that ``extend`` finds
    unsettled gets more preparations (new layouts) of both sides and more block pairs on
    them, round after round, while its time in timed blocks stays within ``max_duration_s``."""
    k = max((st.instances for st in series), default=1)
    sides = _new_sides(case_a, case_b, k, series[0].seed if series else 0)
    given = next((st.layout_seed for st in series if st.layout_seed is not None), None)
    layout_seed = random_seed() if given is None else given
    records = [{
        "id": f"{case_a.id} vs {case_b.id}", "status": "ok", "error": None,
        "started": now_iso(), "settings": asdict(settings), "order": "", "blocks": [],
        "layout_seed": layout_seed,
        "a": {"id": case_a.id, "case": case_a.to_json()},
        "b": {"id": case_b.id, "case": case_b.to_json()}, "telemetry": None, "warnings": []}
        for settings in series]
    bases = {"A": base_dir_a, "B": base_dir_b}
    interrupted: KeyboardInterrupt | None = None
    try:
        pair_name = case_message(f"{case_a.id} vs {case_b.id}")
        with contextlib.ExitStack() as stack, nvtx_range("ab", pair_name):
            t_prepare = time.perf_counter()
            same = _prepare_all(sides, [], bases, stack, layout_seed)
            per_preparation = (time.perf_counter() - t_prepare) / len(sides)
            for n, (record, settings) in enumerate(zip(records, series, strict=True)):
                if not same:
                    record["warnings"].append("A and B take different input tensors: each "
                                              "gets its own seeded inputs")
                record["started"] = now_iso()
                # the first comparison's wall time includes the preparations it waited for
                wall = WallClock(t_prepare if n == 0 else time.perf_counter(), per_preparation)
                _timed_round(wall, sides, settings, record)
                while extend is not None and (more := _more(record, settings, extend, wall)):
                    new = _new_sides(case_a, case_b, more, settings.seed + len(sides),
                                     first=len(sides) // 2)
                    t_prepare = time.perf_counter()
                    _prepare_all(new, sides, bases, stack, layout_seed)
                    wall.per_preparation_s = (time.perf_counter() - t_prepare) / len(new)
                    record.setdefault("extensions", []).append(
                        {"instances_added": more, "after_measure_s": record["timing"]["measure_s"]})
                    sides += new
                    _timed_round(wall, sides, settings, record, only=[s.instance for s in new])
                record["preparation_order"] = [f"{s.label}{s.instance}" for s in sides]
                record["finished"] = now_iso()
    except CaseSkipped as exc:
        for record in records:
            record.update(status="skipped", error=str(exc))
    except Exception as exc:
        for record in records:
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt as exc:
        # Ctrl-C: what was measured is kept (the blocks of a 90 s comparison are not thrown
        # away); it is not judged, since where the user stopped it is not a stop rule
        interrupted = exc
        for record in records:
            if "finished" in record:        # a series' comparisons completed before it
                continue
            pairs = len({blk["pair"] for blk in record["blocks"]})
            record.update(status="interrupted",
                          error=f"interrupted by the user after {pairs} block pair(s)")
            if record["blocks"]:
                summarize_sides(record)
    sides = [s for s in sides if s.instance == 0]    # the record describes instance 0
    for side in sides:
        side.info.pop("feed", None)
        for record in records:
            record[side.label.lower()].update(side.info)
    for record in records:
        record.setdefault("finished", now_iso())
    if interrupted is not None:
        raise ABInterrupted(records) from interrupted
    return records


def _new_sides(case_a: Case, case_b: Case, count: int, seed: int,
               first: int = 0) -> list[_Side]:
    """``count`` more preparations of each side, numbered from ``first``, in ABBA order."""
    return [_Side(label, case_a if label == "A" else case_b, first + i)
            for label, i in preparation_order(count, seed)]


def _prepare_all(new: list[_Side], old: list[_Side], bases: dict[str, str | None],
                 stack: contextlib.ExitStack, layout_seed: int) -> bool:
    """Prepare and bind ``new`` preparations (each in its own layout; ``old`` ones already
    bound), all on the very same input arrays where A and B take the same tensors."""
    for j, side in enumerate(new, start=len(old)):
        # one layout per preparation; the comparison's seed replays them all
        _prepare(side, bases[side.label], stack, Layout(layout_seed * 4096 + j))
    every = old + new
    a = next(s for s in every if s.label == "A")
    b = next(s for s in every if s.label == "B")
    same = _same_inputs(a, b)
    for side in new:
        side.info["feed"] = (a if same or side.label == "A" else b).info["feed"]
        side.bind()
    return same


def _timed_round(wall: WallClock, sides: list[_Side], settings: ABSettings,
                 record: dict[str, Any], only: list[int] | None = None) -> None:
    """One round of blocks (:func:`_interleave`), and what a block pair cost in wall time."""
    t = time.perf_counter()
    pairs = _interleave(sides, settings, record, only)
    wall.per_pair_s = (time.perf_counter() - t) / max(pairs, 1)


def _more(record: dict[str, Any], settings: ABSettings, extend: Extend,
          wall: WallClock | None = None) -> int:
    """Preparations per side to add in the next round: what ``extend`` asks for, at most as
    many again as there are (the estimate of "how many" is rough), and only while the
    round's block time fits within ``max_duration_s`` and, with ``max_wall_s``, the round
    (its preparations of both sides and its pairs) ends within that much wall time."""
    if not settings.max_duration_s or record.get("status") != "ok":
        return 0
    k = record["settings"]["instances"]      # all preparations so far (_interleave records it)
    # The budget counts the timed blocks (re-warms and preparations come on top: the panel's
    # defaults were measured so), and a round is sized by the pairs it will have: at least
    # two per new preparation, more than a short first look gives each (sized by the first
    # look's ratio, a 4 s look over 6 preparations let an 8 s limit run to 9 s).
    spent = sum(b["t_end_s"] - b["t_s"] for b in record["blocks"])
    per_pair = spent / max(len({b["pair"] for b in record["blocks"]}), 1)
    wanted = more = min(extend(record), k)

    def past_wall(more: int) -> bool:
        return bool(settings.max_wall_s and wall is not None and wall.projected(
            2 * more, round_pairs(settings, more)) > settings.max_wall_s)

    while more > 0 and (spent + round_pairs(settings, more) * per_pair > settings.max_duration_s
                        or past_wall(more)):
        more -= 1
    if wanted > 0 and more == 0 and past_wall(1):
        note = (f"max-wall: the extension stopped at {k} preparations per side, the next "
                f"round would have ended past {settings.max_wall_s:g} s")
        record["warnings"].append(note)
    return max(0, more)


def round_pairs(settings: ABSettings, added: int) -> int:
    """Block pairs of an extension round that adds ``added`` preparations per side:
    ``extension_pairs`` each where set, else in proportion to the first round's pairs per
    preparation, never fewer than two each."""
    if settings.extension_pairs:
        return settings.extension_pairs * added
    return max(2 * added, round(settings.pairs * added / settings.instances))


def preparation_order(instances: int, seed: int = 0) -> list[tuple[str, int]]:
    """Which side's which instance is prepared when: pairs AB / BA alternating (ABBA...),
    the first chosen by ``seed``, so a "prepared first" or "prepared second" effect falls on
    both sides alike."""
    first = ("A", "B") if random.Random(seed).random() < 0.5 else ("B", "A")
    out: list[tuple[str, int]] = []
    for i in range(max(1, instances)):
        pair = first if i % 2 == 0 else first[::-1]
        out += [(pair[0], i), (pair[1], i)]
    return out


def block_sample_count(block_s: float, per_call_s: float, runs_per_sample: int,
                       min_samples: int) -> int:
    """Samples that fill a block of ``block_s``. A batched or CUDA-graph timer runs
    ``runs_per_sample`` inferences per sample, so a sample lasts that many calls."""
    per_sample = max(per_call_s, 1e-7) * max(runs_per_sample, 1)
    return max(min_samples, int(block_s / per_sample))


def _interleave(sides: list[_Side], settings: ABSettings, record: dict[str, Any],
                only: list[int] | None = None) -> int:
    """One round of interleaved blocks: pair *p* of the round measures the *p*-th of the
    round's instances (all of them, or ``only`` the ones an extension just added). Returns
    the round's block pairs."""
    k = 1 + max(s.instance for s in sides)
    record["settings"]["instances"] = k      # what was measured, for the verdict
    rotation = sorted(set(only)) if only else list(range(k))
    first_pair = 1 + max((blk["pair"] for blk in record["blocks"]), default=-1)
    for side in sides:
        assert side.warm is not None
        if side.instance not in rotation:
            continue
        warm_s, warm_n, _ = warm_up(side.warm, side.case.warmup)
        assert side.timer is not None and side.step is not None
        # one timing mode for every preparation of both sides: the first to warm up chooses
        # an auto mode, the rest take its choice (a comparison timed differently on each
        # side would measure the timers, not the engines)
        chosen = next((s.timer.mode_choice for s in sides if s.timer and s.timer.mode_choice),
                      None)
        side.timer.choose_mode(side.step, warm_s / max(warm_n, 1) * 1e3, chosen)
        # a host timer's injected delay runs inside its samples only, not in the warm-up
        side.per_call_s = warm_s / max(warm_n, 1) + side.timer.inject_delay
        if side.instance == 0:
            record[side.label.lower()]["warmup_s"] = warm_s
    # one sample count for every block, the slowest side's, so that no block outlasts the
    # block size (the fastest side's count made a 13x slower B run 13x the --duration: an
    # ORT A/B with 1 ms injected took 100 s for 10 s of measuring)
    count = record["settings"].get("block_samples") or min(
        block_sample_count(settings.effective_block_s, s.per_call_s,
                           s.timer.runs_per_sample,
                           settings.min_block_samples) for s in sides)
    pairs = settings.pairs if only is None else round_pairs(settings, len(rotation))
    order = block_order(pairs, settings.seed + first_pair)
    record["order"] += order_text(order)
    record["settings"]["block_samples"] = count
    rewarm = Warmup(min_time=settings.rewarm_s, max_time=max(settings.rewarm_s * 4, 0.01),
                    min_iterations=2)
    by_label = {(s.label, s.instance): s for s in sides}
    # the round's clock goes on from the last round's; re-draws are not measuring time
    redraw_s = record.get("timing", {}).get("redraw_s", 0.0)
    start = time.perf_counter() - record.get("timing", {}).get("measure_s", 0.0) - redraw_s
    # a host timer's blocks share the CPU with whatever else runs: what competed for it over
    # the round is recorded beside the window (the verdict's "host busy")
    before = host.snapshot() if any(s.timer and s.timer.name == "host" for s in sides) else None
    with TelemetryWindow(sides[0].case, [s.engine for s in sides if s.engine]) as tele:
        for i, labels in enumerate(order):
            pair = first_pair + i
            measured = {label: by_label[(label, rotation[i % len(rotation)])]
                        for label in labels}
            seeds: dict[str, int] = {}
            if settings.redraw:
                t_redraw = time.perf_counter()
                seeds = _redraw(measured, settings, record, pair)
                redraw_s += time.perf_counter() - t_redraw
            for label in labels:
                side = measured[label]
                assert side.warm is not None and side.step is not None and side.timer
                warm_up(side.warm, rewarm)
                tele.mark(f"{label}{pair}")
                t0 = time.perf_counter() - start
                with nvtx_range("measure", f"block {label}", pair):
                    samples_ms = np.asarray(side.timer.sample(side.step, count)) * 1e3
                record["blocks"].append(make_block(label, pair, t0, time.perf_counter() - start,
                                               samples_ms, side.instance, seeds.get(label)))
    window = tele.result()
    load = host.host_load(before, host.snapshot()) if before is not None else None
    if load is not None:
        window = {**(window or {}), "host": load.to_json()}
    if only is None:
        record["telemetry"] = window
    else:                                    # an extension round's own window
        record.setdefault("telemetry_extensions", []).append(window)
    record["timing"] = {"timer": sides[0].timer.name if sides[0].timer else None,
                        "measure_s": time.perf_counter() - start - redraw_s,
                        **host_pace(sides, record["blocks"])}
    chosen = sides[0].timer.mode_choice if sides[0].timer else None
    if chosen is not None:          # every preparation's (one choice per comparison)
        record["timing"].update(chosen.facts())
    if settings.redraw:
        record["timing"]["redraw_s"] = redraw_s
    for side in sides:
        assert side.engine is not None
        if side.instance:
            continue
        outputs = side.engine.fetch_outputs()
        record[side.label.lower()]["outputs"] = {k: list(v.shape) for k, v in outputs.items()}
        record[side.label.lower()]["memory"] = side.engine.memory()
        record[side.label.lower()]["build"] = build_facts(side.engine.build, AB_BUILD_FACTS)
    summarize_sides(record)
    return pairs


def _redraw(measured: dict[str, _Side], settings: ABSettings, record: dict[str, Any],
            pair: int) -> dict[str, int]:
    """Before block pair ``pair``: a fresh layout for the preparation each side measures in
    it, seeded from the comparison's layout seed (so ``--layout-seed`` replays every draw).
    The seeds of the sides that re-drew; a side whose backend cannot is noted, once."""
    seeds = {}
    for label, side in measured.items():
        seed = derived_seed(record["layout_seed"], settings.seed, pair, label)
        if side.redraw(Layout(seed)):
            seeds[label] = seed
            continue
        note = (f"redraw: side {label}'s backend ({side.case.backend}) does not place its "
                "memory itself, so its layout stays the preparation's in every block")
        if note not in record["warnings"]:
            record["warnings"].append(note)
    return seeds


def host_pace(sides: list[_Side], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Each side's host enqueue time per inference (median over its preparations, ms) and the
    sides where it set the pace (trtexec's enqueue-bound rule): there the blocks timed the
    host's launch pace, which drifts with the host (an eager resnet18 on the H200: block pairs
    15 % apart), so no number of preparations makes the comparison one of the GPU work.
    Empty for host timers, which time the host by design."""
    enqueue: dict[str, float] = {}
    bound: list[str] = []
    for label in ("A", "B"):
        enq = [e for s in sides if s.label == label and s.timer for e in s.timer.enqueue_ms]
        if not enq:
            continue
        enqueue[label] = float(np.median(enq))
        gpu_ms = [x for blk in blocks if blk["side"] == label for x in blk["samples_ms"]]
        if analysis.enqueue_bound(gpu_ms, enq):
            bound.append(label)
    return {"enqueue_ms": enqueue, "enqueue_bound": bound} if enqueue else {}


def summarize_sides(record: dict[str, Any]) -> None:
    """Each side's summary over all its blocks' samples (in place)."""
    for label in ("A", "B"):
        blocks = [blk for blk in record["blocks"] if blk["side"] == label]
        if blocks:
            record[label.lower()]["stats_ms"] = summarize(np.concatenate(
                [np.asarray(blk["samples_ms"], dtype=float) for blk in blocks]))


def kept_samples(samples_ms: np.ndarray | list[float]) -> list[float]:
    """The raw samples a record keeps: at most :data:`MAX_BLOCK_SAMPLES`, evenly thinned
    (the statistics use all of them)."""
    kept = np.asarray(samples_ms, dtype=float)
    if len(kept) > MAX_BLOCK_SAMPLES:
        kept = kept[np.linspace(0, len(kept) - 1, MAX_BLOCK_SAMPLES).astype(int)]
    return [round(float(x), 6) for x in kept]


def make_block(label: str, pair: int, t0: float, t1: float,
               samples_ms: np.ndarray, instance: int = 0,
               layout_seed: int | None = None) -> dict[str, Any]:
    """A block's record; ``layout_seed``: the layout it was re-drawn to (``redraw``)."""
    block = {"side": label, "pair": pair, "instance": instance, "t_s": round(t0, 6),
             "t_end_s": round(t1, 6),
             "n": len(samples_ms), "median_ms": float(np.median(samples_ms)),
             "p99_ms": float(np.percentile(samples_ms, 99)),
             "mean_ms": float(np.mean(samples_ms)),
             "samples_ms": kept_samples(samples_ms)}
    if layout_seed is not None:
        block["layout_seed"] = layout_seed
    return block
