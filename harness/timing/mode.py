"""Which timing mode a GPU case is measured in: the scenario's, or, with ``timing.mode =
"auto"`` (the default), one chosen per case from a short probe after its warm-up.

Why a choice, and why this rule. Each process carries its own level of the launch and the
two event records around a timed inference: on the H200 an SD of 0.20 µs between processes
per iteration, 0.083 µs when 20 replays share one pair of events (session 29,
docs/verdicts.md). Against a case of 10-50 µs that level is 0.4-2 % and a +1 % change hides
in it; against a case of a millisecond it is nothing, and per-iteration samples keep the
per-inference tail (p99) that batching averages away. The rule, written before its trials
(docs/device-runs/README.md, session 29): batched timing, 20 replays between two events,
for CUDA-graph cases whose median is under 50 µs. It was checked on kernels of 20 and 40 µs
that no default had seen (session 30): 40 of 40 A/As "same", 40 of 40 +1 % "slower". The
choice is made where it is cheap to make and the same for everything compared:

- a case not replayed as a CUDA graph stays per-iteration: its eager enqueue is host-paced
  near this size, and batching it would time the host's launch rate (out of the rule's reach);
- cold timing needs per-iteration (only the first of N batched inferences would be cold);
- the probe times :data:`PROBE_SAMPLES` single inferences after the warm-up (a case whose
  warm-up pace is already past :data:`PROBE_BELOW_MS` is not probed);
- one choice per comparison: the first preparation chooses and every other preparation of
  the case, of the other side and of the other processes takes it (a comparison timed
  differently on each side would measure the timers), and a stored run replays the choice
  of the case's newest accepted run (:func:`recorded_mode`), so a case near 50 µs does not
  flip between runs.

The choice is recorded beside every figure (``timing.mode``, ``timing.mode_reason``,
``timing.mode_probe_ms``; docs/results-format.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # an annotation only: importing the scenario package here would be a circle
    from harness.scenario.schema import Timing

#: Batched below this median (ms) of single CUDA-graph replays: the pre-registered 50 µs.
BATCHED_BELOW_MS = 0.050
#: Replays between two events when the choice is batched (the rule's 20).
AUTO_BATCH_ITERATIONS = 20
#: Single inferences the probe times (about a millisecond for a case near the threshold).
PROBE_SAMPLES = 20
#: A warm-up pace (synchronised, so never below the GPU time) past which no probe is needed.
PROBE_BELOW_MS = 10 * BATCHED_BELOW_MS

Mode = Literal["per-iteration", "batched"]
#: The keys a choice is recorded under (:meth:`ModeChoice.facts`).
MODE_FACTS = ("mode", "runs_per_sample", "mode_reason", "mode_probe_ms")
#: How the reasons of the auto rule's own choices begin: probed, judged by the warm-up's
#: pace, or taken from an earlier measurement of the case (a layout, process or run).
PROBED, PACED, TAKEN = "auto: CUDA graph", "auto: warm-up pace", "auto, as chosen before: "


@dataclass(frozen=True)
class ModeChoice:
    """The mode a case was timed in, and why (``reason`` names the rule that decided)."""

    mode: Mode
    batch_iterations: int          # inferences between two events (1: per-iteration)
    reason: str
    probe_ms: float | None = None  # median of the probe's single inferences, where probed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def facts(self) -> dict[str, Any]:
        """What ``CaseResult.timing`` records of it."""
        return dict(zip(MODE_FACTS, (self.mode, self.batch_iterations, self.reason,
                                     self.probe_ms), strict=True))

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> ModeChoice | None:
        """The auto choice a result, record or round recorded (:meth:`facts`); None where
        the rule did not choose it for a CUDA-graph case (a given mode, an eager or cold
        case, a host timer, a result from before the rule): only the rule's own choices are
        taken again, so a case that has since become a CUDA graph probes for itself."""
        reason = str(facts.get("mode_reason") or "")
        if facts.get("mode") not in ("per-iteration", "batched") or \
                not reason.startswith((PROBED, PACED, TAKEN)):
            return None
        return cls(facts["mode"], int(facts.get("runs_per_sample") or 1),
                   facts["mode_reason"], facts.get("mode_probe_ms"))

    def taken(self) -> ModeChoice:
        """This choice as a later measurement of the same case takes it (its reason says
        so, once; the probe's figure stays the one that decided)."""
        if self.reason.startswith(TAKEN):
            return self
        return replace(self, reason=f"{TAKEN}{self.reason.removeprefix('auto: ')}")


def per_iteration(reason: str) -> ModeChoice:
    return ModeChoice("per-iteration", 1, reason)


def fixed(timing: Timing, graph_replayed: bool,
          chosen: ModeChoice | None = None) -> ModeChoice | None:
    """The choice where the timing table or the case makes it, or ``chosen`` before
    (``Case.chosen_mode``) where the auto rule applies; None where the probe decides."""
    if timing.mode == "batched":
        return ModeChoice("batched", timing.batch_iterations, "timing.mode")
    if timing.mode == "per-iteration":
        return per_iteration("timing.mode")
    if timing.cold != "off":
        return per_iteration("auto: cold timing is per-iteration")
    if not graph_replayed:
        return per_iteration("auto: not a CUDA-graph replay")
    return chosen.taken() if chosen is not None else None


def choose(warm_pace_ms: float, probe: Callable[[], float]) -> ModeChoice:
    """The auto choice for a CUDA-graph case, from its warm-up pace and, where that is short
    enough to matter, ``probe`` (the median ms of single timed inferences)."""
    if warm_pace_ms >= PROBE_BELOW_MS:
        return per_iteration(f"{PACED} {warm_pace_ms:.3g} ms")
    median = probe()
    if median < BATCHED_BELOW_MS:
        return ModeChoice("batched", AUTO_BATCH_ITERATIONS,
                          f"{PROBED}, median {median * 1e3:.3g} µs < "
                          f"{BATCHED_BELOW_MS * 1e3:g} µs", median)
    return ModeChoice("per-iteration", 1, f"{PROBED}, median {median * 1e3:.3g} µs", median)


def recorded_mode(result: dict[str, Any]) -> tuple[str, int] | None:
    """The mode and batch a case result or accepted run was timed in: its recorded choice,
    else (results from before ``auto``) its case's timing table; None for host timing."""
    timing = result.get("timing") or {}
    if timing.get("timer") not in (None, "cuda-event"):
        return None
    if timing.get("mode") in ("per-iteration", "batched"):
        return timing["mode"], int(timing.get("runs_per_sample") or 1)
    table = (result.get("case") or {}).get("timing") or {}
    if table.get("mode") == "batched":
        return "batched", int(table.get("batch_iterations") or 1)
    if table.get("mode") == "per-iteration" and timing.get("timer") == "cuda-event":
        return "per-iteration", 1
    return None


def replayed(entries: list[dict[str, Any]]) -> ModeChoice | None:
    """The auto choice of the case's newest accepted run, for its next run to take
    (``Case.chosen_mode``), or None. Modes from before the auto mode are not replayed: such
    a run then times in the new default, and the verdict calls it "incomparable" once
    (:func:`harness.baseline.verdict.evaluate_case`), naming both modes."""
    return ModeChoice.from_facts(entries[-1].get("timing") or {}) if entries else None


def mode_change(current: dict[str, Any], last: dict[str, Any]) -> str | None:
    """How two results' timing modes differ (None: alike, or not both recorded): a batched
    figure lacks the per-inference event floor a per-iteration one carries, so the two are
    different measurements, not a change of the engine."""
    now, then = recorded_mode(current), recorded_mode(last)
    if now is None or then is None or now == then:
        return None
    return (f"timing mode differs: {_named(then)} now {_named(now)} (timing.mode = "
            f"\"{then[0]}\" keeps the old one)")


def _named(recorded: tuple[str, int]) -> str:
    mode, n = recorded
    return f"batched x{n}" if mode == "batched" else mode
