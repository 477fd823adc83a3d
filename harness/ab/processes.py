"""A/B in alternate fresh processes at one set of layout seeds (``ab --processes N``): each
side is run as ``trt-harness run`` runs a case, in a process of its own, N times, in ABBA
order over rounds (a linear drift cancels), every process at the same layout seeds, A's and
B's k-th processes (a process pair) over the same base pad, and the two sides are compared
pair by pair and layout by layout (:func:`harness.ab.verdict.evaluate`, with
:func:`harness.comparison.compare_paired_runs`).

Why: an interleaved A/B prepares both sides side by side in one process, so their layouts can
never be the same ones, and on models whose preparations differ by 1-2 % (squeezenet1_1 on
the H200: 1.9 %) the interval over six preparation pairs cannot come inside ±0.5 %: +1 % stayed
"undecided" there. A seed replays a layout to about 0.1 % in any fresh process that prepared
the same things before it (session 15, docs/verdicts.md), so here A's and B's k-th layouts are
the same placement and the layout bias cancels pair by pair, as it does for a stored run that
replays its baseline's layouts.

Where B's engine allocates differently from A's, its layouts are other ones, and not
independently: on the H200 (session 18) an A/A with B's preparations moved by an extra
55 MiB put all four of B's layouts in squeezenet1_1's fast mode, in both of B's processes,
and the comparison at one base read "faster" -2.4 % [-3.5, -1.3] (1 of 9 such trials; the
others were "undecided"). A shift of all of a side's layouts is one draw per base, so each
process pair holds its own base pad (:func:`pair_base`): where the sides allocate alike it
cancels, and where they do not the pairs disagree and the interval says so.

The processes are sequential, so what drifts between them (clocks, a neighbour on the host)
falls on both sides through the ABBA order; each process's clocks and host load are kept with
its round, and the verdict reads them as the interleaved mode's. A side that fails in a round
is kept as failed and the comparison judged on the process pairs that completed, when there
are two.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from harness.ab.measure import ABInterrupted, ABSettings, Extend, kept_samples
from harness.ab.rounds import completed_rounds
from harness.ab.verdict import look_count
from harness.layout import DEFAULT_LAYOUTS, base_pad, derived_seed, random_seed
from harness.results import now_iso
from harness.scenario.expand import Case
from harness.timing.mode import MODE_FACTS, ModeChoice

# The line a side's process writes its result on (its other output is the user's to see).
RESULT_MARK = "trt-harness-side-result "
# The paired comparison needs three layouts in every run (compare_paired_runs).
MIN_LAYOUTS = 3
# ...and two process pairs: the pairs' spread is measured, not assumed.
MIN_ROUNDS = 2
# An undecided comparison grows to at most this many times the processes it started with:
# a budget, as the interleaved comparison's max_duration_s is (squeezenet1_1's model,
# SIMULATED: +1 % found in 92.2 % at a fixed 2 processes a side, always at 3 and 4, 99.8 %
# starting at 2 and extending; docs/verdicts.md, "How many processes").
MAX_GROWTH = 2
# The id both sides' layout seeds are drawn under (harness.runner.case_layouts draws them from
# the seed and the case id, and A's and B's ids differ).
SEED_ID = "ab-processes"


def side_order(rounds: int) -> list[str]:
    """ABBA over rounds: A B, B A, A B, ..."""
    return [s for r in range(rounds) for s in (("A", "B") if r % 2 == 0 else ("B", "A"))]


def side_case(case: Case, layout_seed: int, pair: int) -> Case:
    """The case as a side's process runs it in process pair ``pair`` (1, 2, ...: A's and
    B's ``pair``-th processes): at ``layout_seed`` under the common :data:`SEED_ID` (so both
    sides draw the same seeds) over the pair's base pad (:func:`pair_base`), with at least
    :data:`MIN_LAYOUTS` layouts (a backend that cannot place its memory then prepares the
    engine that many times: the pairs carry no shared placement, and their spread says so)."""
    timing = case.timing.model_copy(update={
        "layouts": max(case.timing.layouts or DEFAULT_LAYOUTS, MIN_LAYOUTS)})
    return replace(case, id=SEED_ID, layout_seed=layout_seed, timing=timing,
                   layout_base=pair_base(layout_seed, pair),
                   history_layouts=None, history_layout_seed=None)


def pair_base(layout_seed: int, pair: int) -> int:
    """Process pair ``pair``'s base pad, the same for A's process and B's: where both sides
    allocate alike it cancels with the layouts, and where B allocates differently its shift
    differs from pair to pair, so the pairs' spread measures it. The pairs of one comparison
    draw from one series, so no two share a placement (:func:`harness.layout.base_pad`;
    judged by :func:`harness.comparison.compare_paired_runs`)."""
    return base_pad(derived_seed(layout_seed, "base"), pair - 1)


def measure_processes(case_a: Case, case_b: Case, settings: ABSettings,
                      base_dir_a: str | None = None, base_dir_b: str | None = None,
                      extend: Extend | None = None,
                      interleaved: dict[str, Any] | None = None) -> dict[str, Any]:
    """The A/B record of ``settings.processes`` rounds (docs/results-format.md, "rounds");
    with ``extend``, an undecided one runs more rounds (:func:`rounds_to_add`). Going on from
    an ``interleaved`` comparison of the same pair, the record keeps it, and its looks
    continue that comparison's."""
    layout_seed = random_seed() if settings.layout_seed is None else settings.layout_seed
    record: dict[str, Any] = {
        "id": f"{case_a.id} vs {case_b.id}", "status": "ok", "error": None,
        "started": now_iso(), "settings": asdict(settings), "method": "processes",
        "layout_seed": layout_seed, "order": "", "blocks": [], "rounds": [],
        "telemetry": None, "warnings": [],
        "a": {"id": case_a.id, "case": case_a.to_json()},
        "b": {"id": case_b.id, "case": case_b.to_json()}}
    if interleaved is not None:
        record.update(interleaved=interleaved, looks_before=look_count(interleaved))
    sides = {"A": (case_a, base_dir_a), "B": (case_b, base_dir_b)}
    # one timing mode for every process: the interleaved comparison's, else the first
    # process's choice (harness.timing.mode)
    chosen = ModeChoice.from_facts((interleaved or {}).get("timing") or {})
    try:
        more = settings.processes
        while more:
            done = len(record["rounds"]) // 2
            for label in side_order(done + more)[2 * done:]:
                case, base = sides[label]
                number = 1 + sum(r["side"] == label for r in record["rounds"])
                if chosen is not None:
                    case = replace(case, chosen_mode=chosen)
                record["rounds"].append(run_side(side_case(case, layout_seed, number), base,
                                                 label, number))
                record["order"] += label
                chosen = chosen or ModeChoice.from_facts(record["rounds"][-1])
            record["settings"]["processes"] = done + more
            _conclude(record)
            more = rounds_to_add(record, settings, extend)
            if more:
                # as the interleaved record's "after_measure_s": where it looked and went on
                record.setdefault("extensions", []).append(
                    {"processes_added": more,
                     "after_processes": record["settings"]["processes"]})
    except KeyboardInterrupt as exc:
        record.update(status="interrupted", error="interrupted by the user after "
                      f"{len(record['rounds'])} of "
                      f"{2 * record['settings']['processes']} processes")
        record["finished"] = now_iso()
        raise ABInterrupted([record]) from exc
    return record


def rounds_to_add(record: dict[str, Any], settings: ABSettings,
                  extend: Extend | None) -> int:
    """Processes per side to add to an undecided comparison: what ``extend`` asks for (the
    verdict's own sizing), at most as many again as it has; none where that would take it
    past :data:`MAX_GROWTH` times ``settings.processes`` (a look that cannot settle it spends
    its share of the false-alarm level for nothing: broken pairs ask for dozens), where
    ``max_duration_s`` is 0 (never extend), or where, with ``max_wall_s``, the new processes
    would end past it at the pace of those so far."""
    if extend is None or not settings.max_duration_s or record["status"] != "ok":
        return 0
    have = record["settings"]["processes"]
    want = extend(record)
    if want <= 0 or have + want > MAX_GROWTH * settings.processes:
        return 0
    more = min(want, have)
    if more > 0 and settings.max_wall_s:
        walls = [r["wall_s"] for r in record["rounds"]]
        per_process = sum(walls) / max(len(walls), 1)
        while more and sum(walls) + 2 * more * per_process > settings.max_wall_s:
            more -= 1
    return max(more, 0)


def run_side(case: Case, base_dir: str | None, label: str, number: int) -> dict[str, Any]:
    """One side's run in a fresh process (``python -m harness.ab.processes``), as a round."""
    spec = json.dumps({"case": case.to_json(), "base_dir": base_dir})
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.ab.processes"], input=spec,
                          stdout=subprocess.PIPE, text=True, check=False)
    wall = round(time.perf_counter() - t0, 3)
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_MARK)]
    if proc.returncode or not lines:
        return {"side": label, "round": number, "status": "failed", "wall_s": wall,
                "error": f"the side's process exited with {proc.returncode} and no result"}
    return as_round(json.loads(lines[-1][len(RESULT_MARK):]), label, number, wall)


def as_round(result: dict[str, Any], label: str, number: int, wall_s: float
             ) -> dict[str, Any]:
    """What a round keeps of a side's case result: its layouts' figures, its samples (as a
    block keeps them: :func:`~harness.ab.measure.kept_samples`), its clocks and host load."""
    timing = result.get("timing") or {}
    tele = result.get("telemetry") or {}
    figures = timing.get("layout_figures") or []
    out = {"side": label, "round": number, "status": result.get("status"),
           "error": result.get("error"), "wall_s": wall_s, "timer": timing.get("timer"),
           "layout_base": timing.get("layout_base", 0), "layout_figures": figures,
           "stats_ms": result.get("stats_ms"),
           "samples_ms": kept_samples(result.get("samples_ms") or []),
           "sm_clock_mhz": measured_clocks(tele),
           "host": tele.get("host"), "flagged_share": tele.get("flagged_share"),
           # the case records its enqueue times as a summary (harness.stats.summarize); a
           # round keeps their median, the figure host_pace gives an interleaved side
           "enqueue_ms": (timing.get("enqueue_ms") or {}).get("median"),
           "enqueue_bound": timing.get("enqueue_bound"),
           **{k: timing.get(k) for k in MODE_FACTS},
           "build": result.get("build"), "warnings": result.get("warnings") or []}
    if out["status"] == "ok" and len(figures) < MIN_LAYOUTS:
        out.update(status="failed", error=f"{len(figures)} layout(s) measured, the paired "
                   f"comparison needs {MIN_LAYOUTS}")
    return out


def measured_clocks(telemetry: dict[str, Any]) -> list[float]:
    """The SM clock samples NVML took while the case was measured (its measure phase)."""
    samples = telemetry.get("samples") or {}
    phases = telemetry.get("phases") or {}
    lo, hi = phases.get("measure_start"), phases.get("measure_end")
    return [float(c) for t, c in zip(samples.get("t_s") or [], samples.get("sm_clock_mhz") or [],
                                     strict=False)
            if c and (lo is None or lo <= t) and (hi is None or t <= hi)]


def _conclude(record: dict[str, Any]) -> None:
    """The record's status and the facts the verdict reads from its rounds (again after
    every extension: it sets what it reads from all of them)."""
    ok = {label: [r for r in completed_rounds(record) if r["side"] == label]
          for label in ("A", "B")}
    failed = [r for r in record["rounds"] if r["status"] != "ok"]
    record["warnings"] = [f"{r['side']}{r['round']}: {r['error']}" for r in failed]
    pairs = {r["round"] for r in ok["A"]} & {r["round"] for r in ok["B"]}
    if len(pairs) < MIN_ROUNDS:
        why = f" ({failed[0]['error']})" if failed else ""
        record.update(status="failed", error=f"fewer than {MIN_ROUNDS} process pairs (A's "
                      f"and B's k-th processes) ran to completion{why}")
    first = next((r for runs in ok.values() for r in runs), {})
    record["timing"] = {"timer": first.get("timer"),
                        **{k: first.get(k) for k in MODE_FACTS},
                        "wall_s": round(sum(r["wall_s"] for r in record["rounds"]), 3)}
    # as the interleaved record says it (harness.ab.measure.host_pace): the verdict flags a
    # comparison of the host's launch pace
    enqueue = {label: float(np.median([r["enqueue_ms"] for r in runs]))
               for label, runs in ok.items() if runs and all(r.get("enqueue_ms") for r in runs)}
    if enqueue:
        record["timing"].update(enqueue_ms=enqueue, enqueue_bound=[
            label for label, runs in ok.items() if any(r.get("enqueue_bound") for r in runs)])
    shares = [r["flagged_share"] for r in record["rounds"] if r.get("flagged_share") is not None]
    if shares:
        record["telemetry"] = {"flagged_share": max(shares)}
    for label, runs in ok.items():
        if runs:
            record[label.lower()]["stats_ms"] = runs[0].get("stats_ms")
            record[label.lower()]["build"] = runs[0].get("build")
    record["finished"] = now_iso()


def main() -> int:
    """A side's process: the case of the JSON spec on stdin, run as ``trt-harness run`` runs
    it (backend start-up, then the case), its result on one marked line of stdout."""
    from harness.runner import run_case, start_backends

    spec = json.loads(sys.stdin.read())
    case = Case.from_json(spec["case"])
    start_backends([case])
    result = run_case(case, spec.get("base_dir"))
    print(RESULT_MARK + json.dumps(asdict(result), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
