"""Clock-aware confirmation of a timing verdict (issue 20, item 5).

A kernel's time is its cycles over the SM clock. When NVML saw the two sides of a comparison
(the current run and its baseline runs, or B and A) at different SM clocks, a time change can
be the clock's and not the engine's, and a clock change can hide an engine's change. The
verdict is then confirmed in *cycle space* (time x clock): it stands when the cycle-space
change leads to the same call (slower / faster / neither) by the same rule; otherwise the
comparison is "unstable", its reason naming the clocks. Never a silent pass.

Cycle space is right for compute-bound work and wrong for memory-bound work (HBM does not
follow the SM clock): where the two spaces disagree the harness cannot tell which applies,
which is exactly why the answer is "unstable" and not either call.

Pure functions over figures already recorded: the NVML summary (``telemetry.summary``), the
sampler's samples and block marks (A/B), and the judges' metric dicts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from harness.ab.rounds import completed_rounds
from harness.verdict.gross import gross_change
from harness.verdict.records import MetricVerdict, Verdict

# Two sides count as "at different SM clocks" when their median SM clocks differ by more
# than this (relative). shared/gpu.md: under load the H200 holds 1980 MHz (idle 345-405 MHz,
# persistence on), and a ~1 ms spin kernel -- whose time is its cycles over the clock -- agreed
# between trials to 0.03-0.06 %, so at a steady clock two sides' medians agree far inside
# 0.5 %; NVML reports the SM clock in steps of about 15 MHz (0.76 % at 1980 MHz), so 0.5 %
# means "at least one clock step apart": a different clock state (power or thermal cap,
# another tenant, locked clocks), not reading noise. Below it the clock moves a time change
# by less than the smallest default tolerance (A/B median 0.5 %).
CLOCK_DIFF_LIMIT = 0.005
# A side's clock needs a few NVML samples (20 ms apart) to be a figure, not a glimpse.
MIN_CLOCK_SAMPLES = 3

CALLS = {"regression": 1, "slower": 1, "improvement": -1, "faster": -1}


def sm_clock_mhz(record: Mapping[str, Any] | None) -> float | None:
    """The median SM clock over a case's measuring window: an accepted baseline entry's
    ``sm_clock_mhz``, else a result's ``telemetry.summary.sm_clock_mhz.median``."""
    if not record:
        return None
    if record.get("sm_clock_mhz"):
        return float(record["sm_clock_mhz"])
    summary = (record.get("telemetry") or {}).get("summary") or {}
    stats = summary.get("sm_clock_mhz") or {}
    value = stats.get("median")
    return float(value) if value else None


def baseline_clock_mhz(entries: Sequence[Mapping[str, Any]]) -> float | None:
    """The baseline runs' SM clock: the median of those that recorded one."""
    clocks = [c for c in (sm_clock_mhz(e) for e in entries) if c]
    return float(median(clocks)) if clocks else None


def side_clocks_mhz(record: Mapping[str, Any],
                    min_samples: int = MIN_CLOCK_SAMPLES) -> dict[str, float | None]:
    """Each side's median SM clock in an A/B record: the NVML samples taken inside that
    side's blocks. The interleaved phase has one sampler (and one per extension round), which
    marks every block as it starts (``phases["A3"]``, on the sampler's clock); a block lasts
    ``t_end_s - t_s`` from there. A side with fewer than ``min_samples`` samples: None."""
    found: dict[str, list[float]] = {"A": [], "B": []}
    windows = [record.get("telemetry"), *(record.get("telemetry_extensions") or [])]
    for tele in windows:
        samples = (tele or {}).get("samples") or {}
        t, sm = samples.get("t_s") or [], samples.get("sm_clock_mhz") or []
        phases = (tele or {}).get("phases") or {}
        for blk in record.get("blocks") or []:
            start = phases.get(f"{blk['side']}{blk['pair']}")
            if start is None:
                continue
            end = start + float(blk["t_end_s"]) - float(blk["t_s"])
            found[blk["side"]] += [float(c) for ti, c in zip(t, sm, strict=False)
                                   if c and start <= ti <= end]
    for rnd in completed_rounds(record):        # process-paired: each process's own samples
        found[rnd["side"]] += [float(c) for c in rnd.get("sm_clock_mhz") or []]
    return {side: float(median(v)) if len(v) >= min_samples else None
            for side, v in found.items()}


def _p_one_sided(x: float, se: float, df: float) -> float:
    """P(T > x / se) for Student's t with ``df`` degrees of freedom."""
    if not math.isfinite(se):
        return 1.0
    if se <= 0:
        return 0.0 if x > 0 else 1.0
    from scipy.stats import t as student_t

    return float(student_t.sf(x / se, df))


def cycle_call(log_ratio: float, se: float, df: float, tolerance: float,
               level: float) -> int:
    """The timing verdict's rule (statistically clear at the one-sided ``level`` the test was
    decided at, *and* beyond the tolerance) on a log-ratio: +1 slower, -1 faster, 0 neither."""
    change = math.exp(log_ratio) - 1
    if change > tolerance and _p_one_sided(log_ratio, se, df) < level:
        return 1
    if change < -tolerance and _p_one_sided(-log_ratio, se, df) < level:
        return -1
    return 0


@dataclass(frozen=True)
class ClockCheck:
    """One timing metric seen in both spaces. ``ratio`` is current (or B) over reference
    (baseline, or A); cycles = time x clock, so the cycle-space log-ratio is the time's plus
    log(ratio), with the same standard error (the clock medians are taken as known: NVML
    samples a whole window, and the spin-kernel trials show it steady to < 0.1 %)."""

    metric: str
    reference_mhz: float
    current_mhz: float
    time_change: float
    cycle_change: float
    cycle_ci: tuple[float, float] | None
    time_call: int
    cycle_call: int
    limit: float = CLOCK_DIFF_LIMIT

    @property
    def ratio(self) -> float:
        return self.current_mhz / self.reference_mhz

    @property
    def differs(self) -> bool:
        return abs(self.ratio - 1) > self.limit

    @property
    def disagrees(self) -> bool:
        """At different clocks, time and cycles lead to different calls: the clock explains
        the time change (or hides a change in cycles), and neither can be trusted."""
        return self.differs and self.time_call != self.cycle_call

    def describe(self) -> str:
        what = {1: "slower", -1: "faster", 0: "within the tolerance"}
        return (f"{self.metric} {self.time_change:+.2%} in time ({what[self.time_call]}) "
                f"but {self.cycle_change:+.2%} in cycles ({what[self.cycle_call]})")

    def to_json(self) -> dict[str, Any]:
        return {"clock_ratio": self.ratio, "cycle_change": self.cycle_change,
                "cycle_ci": list(self.cycle_ci) if self.cycle_ci else None,
                "confirmed_in_cycles": not self.disagrees}


def clock_reason(checks: Sequence[ClockCheck], sides: tuple[str, str] = ("current", "baseline")
                 ) -> str:
    """Why the clocks leave the comparison unstable, e.g. "SM clock 1755 vs 1980 MHz (current
    vs baseline, ratio 0.886): median +12.8 % in time (slower) but +0.3 % in cycles (within
    the tolerance); the clock difference may explain the time change"."""
    c = checks[0]
    return (f"SM clock {c.current_mhz:.0f} vs {c.reference_mhz:.0f} MHz ({sides[0]} vs "
            f"{sides[1]}, ratio {c.ratio:.3f}): " + "; ".join(x.describe() for x in checks)
            + "; the clock difference may explain the time change")


def check_metric(name: str, m: Mapping[str, Any], reference_mhz: float, current_mhz: float,
                 level: float, limit: float = CLOCK_DIFF_LIMIT) -> ClockCheck | None:
    """The time verdict of a decided timing metric (``status``, ``log_ratio``, ``se``, ``df``,
    ``tolerance``, ``ci``) and the same rule in cycle space. None without the figures."""
    if not reference_mhz or not current_mhz or m.get("log_ratio") is None or not m.get("se"):
        return None
    shift = math.log(current_mhz / reference_mhz)
    log_c = float(m["log_ratio"]) + shift
    ci = m.get("ci")
    cycle_ci = (None if not ci else
                ((1 + ci[0]) * math.exp(shift) - 1, (1 + ci[1]) * math.exp(shift) - 1))
    return ClockCheck(name, reference_mhz, current_mhz, float(m["change"]), math.exp(log_c) - 1,
                      cycle_ci, CALLS.get(str(m.get("status")), 0),
                      cycle_call(log_c, float(m["se"]), float(m.get("df") or 1.0),
                                 float(m["tolerance"]), level), limit)


def look_share(m: Mapping[str, Any]) -> float:
    """The share of the false-alarm level an A/B metric's last look was decided at
    (``look_share``; records written before it: 1 / ``looks``, the rule then); 1 for a
    stored metric, which looks once."""
    share = m.get("look_share")
    return float(share) if share else 1.0 / max(int(m.get("looks") or 1), 1)


def _checks(v: Verdict, ms: dict[str, MetricVerdict], metrics: Sequence[str], alpha: float,
            limit: float, gross: Any = None) -> tuple[dict[str, MetricVerdict], list[ClockCheck]]:
    """Check each timing metric of a decided verdict against its ``clock_mhz`` ([reference,
    current]): the metrics, each with its cycle-space figures where the clocks differ, and
    the checks."""
    ref, cur = (v.get("clock_mhz") or (None, None))
    out, checks = dict(ms), []
    for name in metrics:
        m = ms.get(name)
        if m is None or ref is None or cur is None:
            continue
        level = float(m.get("mdc_level") or alpha) * look_share(m)
        check = check_metric(name, m, ref, cur, level, limit)
        if check is None or not check.differs:
            continue
        if gross is not None and check.time_call == 1 and check.cycle_call == 0 and \
                m.get("gross"):
            # called by the gross-change rule in time: the same rule in cycles
            shifted = m.updated(change=check.cycle_change,
                                log_ratio=math.log1p(check.cycle_change))
            if gross(shifted):
                check = dataclasses.replace(check, cycle_call=1)
        out[name] = m.updated(**check.to_json())
        checks.append(check)
    return out, checks


def confirm_stored(v: Verdict, ms: dict[str, MetricVerdict], policy: Any,
                   metrics: Sequence[str] = ("median", "p99"), limit: float = CLOCK_DIFF_LIMIT
                   ) -> tuple[Verdict, dict[str, MetricVerdict]]:
    """A stored verdict before it concludes, and its metrics: where the current run and its
    baseline ran at different SM clocks and a timing metric's call differs in cycle space,
    the reason goes to ``unstable`` and the timing verdict is voided, as a throttled run's is
    (``would_be`` keeps the time's call)."""
    ms, checks = _checks(v, ms, metrics, policy.alpha, limit,
                         lambda m: gross_change(m, policy.alpha, policy.gross_factor))
    bad = [c for c in checks if c.disagrees]
    if bad:
        v = v.updated(unstable=[*v.unstable, clock_reason(bad)], voids_timing=True)
    return v, ms


def confirm_ab(v: Verdict, ms: dict[str, MetricVerdict], alpha: float,
               metrics: Sequence[str] = ("median", "p99"), limit: float = CLOCK_DIFF_LIMIT
               ) -> tuple[Verdict, dict[str, MetricVerdict]]:
    """An A/B verdict before it concludes, and its metrics: a timing metric whose call
    differs in cycle space becomes "unstable" (``would_be`` keeps the time's call) -- a
    "slower" is not allowed to stand on a clock difference -- and the reason goes to
    ``unstable``. Throughput follows the median."""
    ms, checks = _checks(v, ms, metrics, alpha, limit)
    bad = [c for c in checks if c.disagrees]
    for c in bad:
        for name in [c.metric, "throughput"] if c.metric == "median" else [c.metric]:
            m = ms.get(name)
            if m is not None:
                ms[name] = m.updated(would_be=m.status, status="unstable")
    if bad:
        v = v.updated(unstable=[*v.unstable, clock_reason(bad, ("B", "A"))])
    return v, ms


def clock_fields(reference_mhz: float | None, current_mhz: float | None) -> dict[str, Any]:
    """What a verdict records of the clocks: ``clock_mhz`` [reference, current] and
    ``clock_ratio`` (current / reference), where both sides recorded an SM clock."""
    if not reference_mhz or not current_mhz:
        return {}
    return {"clock_mhz": [reference_mhz, current_mhz],
            "clock_ratio": current_mhz / reference_mhz}


def stored_clock_fields(current: Mapping[str, Any],
                        entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`clock_fields` of a current run and its baseline runs."""
    return clock_fields(baseline_clock_mhz(entries), sm_clock_mhz(current))


def ab_clock_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`clock_fields` of an A/B record: B's clock over A's."""
    sides = side_clocks_mhz(record)
    return clock_fields(sides["A"], sides["B"])
