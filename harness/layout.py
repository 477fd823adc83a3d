"""Memory layout as a sampled level: a seeded random placement for one preparation.

On the GPU the largest noise term between two preparations of the very same engine is where
its memory landed (shared/gpu.md, "Memory layout and autotuners"): between preparations of a
torch CUDA-graph model the speed differs by 0.07-1.7 % (SD), and the per-preparation pattern
repeats exactly in every process, because the same allocation order gives the same
addresses. More samples or more processes cannot average such a bias away; only drawing the
layout at random can (Stabilizer, Curtsinger & Berger, ASPLOS 2013). A :class:`Layout` is
that draw: padding held before the weights and again before the I/O buffers and graph pools,
so every preparation starts its allocations at a different offset. The seed is recorded, so
a layout can be replayed.

Backends that place memory themselves honour it (``Backend.randomizes_layout``); the others
ignore it and say so in the record.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.stats import pooled_variance

MIB = 1 << 20
# Large pads move the big allocations (weights, activations: the caching allocator's large
# pool, 2 MiB segments); small ones the sub-MiB tensors (its small pool). 1-64 MiB is the
# range over which the layout study saw the per-preparation pattern follow the seed.
LARGE_PAD = (1 * MIB, 64 * MIB)
SMALL_PAD = (0, 1 * MIB)
ALIGN = 512                 # the caching allocator's rounding: finer offsets change nothing
STAGES = ("weights", "buffers")
# A process pair's base pad (base_pad) in whole segments of the caching allocator's large
# pool, 2 to 64 MiB: 32 placements.
BASE_SEGMENT = 2 * MIB
BASE_SLOTS = LARGE_PAD[1] // BASE_SEGMENT
# Layouts per case in stored runs where the scenario names none (``timing.layouts``). Chosen
# on shufflenet_v2_x1_0 (H200, fp16 b8 CUDA graph; docs/verdicts.md, "Layouts in stored
# runs"): with one layout, adding a case before it moved its median +7.8 % in 5 of 5 runs
# (a false regression); with 4, the runs alone and after other cases agreed (-2.0 to -0.1 %)
# and a run's own error stayed near 1 %, at four preparations' cost (0.1-0.4 s each).
DEFAULT_LAYOUTS = 4
# Where a case's accepted runs show its layouts disagree, its next runs draw as many as bring
# the standard error of their mean over layouts to LAYOUT_SE_TARGET, at most MAX_LAYOUTS.
# Chosen on the tuning workloads (H200 layout study, fp16 b8 CUDA graph): SD between random
# layouts 1.35 % shufflenet_v2_x1_0, 0.27 % efficientnet_b0, 0.13 % resnet50 (stored runs).
# With 4 layouts shufflenet's run mean carries ±0.6-0.7 %, about its whole stored MDC budget;
# 0.3 % is half the between-run prior (harness.baseline.verdict, layout_run_cv 0.6 %), so the
# layouts stop being the larger term, and 16 bounds the cost (shufflenet: 16 layouts,
# efficientnet_b0 and resnet50: 4, as before).
LAYOUT_SE_TARGET = 0.003
MAX_LAYOUTS = 16


@dataclass(frozen=True)
class Layout:
    """A seeded placement: the pads (in bytes) to hold before each stage's allocations;
    ``base``, a further pad held first, before the weights (a process pair's base:
    :func:`base_pad`)."""

    seed: int
    base: int = 0

    def pads(self, stage: str) -> tuple[int, ...]:
        """The pads before ``stage`` ("weights": the model's parameters; "buffers": inputs,
        outputs, activations and captured graphs): (large, small), and before the weights
        the base first where there is one."""
        if stage not in STAGES:
            raise ValueError(f"unknown layout stage {stage!r}; expected one of {STAGES}")
        rng = random.Random(self.seed * len(STAGES) + STAGES.index(stage))
        pads = (rng.randrange(LARGE_PAD[0], LARGE_PAD[1], ALIGN),
                rng.randrange(SMALL_PAD[0], SMALL_PAD[1], ALIGN))
        return (self.base, *pads) if self.base and stage == "weights" else pads


def base_pad(seed: int, draw: int = 0) -> int:
    """The ``draw``-th base pad (bytes) of a series drawn from ``seed``: a whole number of
    :data:`BASE_SEGMENT` over the range of a layout's large pad, every draw of a series
    another one until all :data:`BASE_SLOTS` are used (a random order of them).

    Why a base: a seed replays a layout in any process, but only over the same allocations
    before it. Where B allocates differently from A (an extra 1-64 MiB before its
    preparations, the panel's "moved" level), all of B's layouts can shift together:
    squeezenet1_1 on the H200, ``ab --processes 2``, an A/A with B moved read "faster" -2.4 %
    with all four of B's layouts in the fast mode (session 18, docs/verdicts.md). One fixed
    base per side is one draw of that shift, which no number of processes at it averages; a
    base drawn for each process pair (both sides alike) makes it a sampled level.

    Why whole segments, and no repeats: the caching allocator hands out a large block as
    whole 2 MiB segments, so two bases in the same segment are one placement. Drawn
    independently at 512 bytes, two of a comparison's three pairs fell in one segment in 2 of
    3 moved A/As (session 19, H200: 23.2 and 23.4 MiB; 52.3 and 52.8 MiB), their figures
    agreed to 0.4 %, and the comparison counted as three draws what was two."""
    slots = random.Random(seed).sample(range(BASE_SLOTS), BASE_SLOTS)
    return (slots[draw % BASE_SLOTS] + 1) * BASE_SEGMENT


def random_seed() -> int:
    """A fresh layout seed (recorded beside the results, so the run can be replayed)."""
    return int.from_bytes(os.urandom(4), "little")


def derived_seed(seed: int, *parts: object) -> int:
    """A layout seed drawn from ``seed`` and ``parts`` (an A/B redraw's block-order seed, pair
    and side): the same in every process, so the one recorded seed replays every draw."""
    return random.Random(":".join(map(str, (seed, *parts)))).getrandbits(32)


def layouts_wanted(history: list[list[float]], target: float = LAYOUT_SE_TARGET,
                   floor: int = DEFAULT_LAYOUTS, cap: int = MAX_LAYOUTS) -> int:
    """How many layouts the next run of a case draws, from the log medians of the layouts of
    its accepted runs (one list per run): as many as bring the standard error of a run's mean
    over layouts to ``target``, with the spread between layouts pooled within those runs; at
    least ``floor``, at most ``cap``; ``floor`` without a history.

    Never from the run's own first layouts. A count chosen from them is optional stopping: a
    layout distribution is skewed (squeezenet1_1 on the H200: most layouts near +0.7 %, a
    tail to -3 %), so runs whose first four agree are the ones that missed the tail, and
    their mean is biased. Measured: H200 runs that stopped at 4 were +0.78 % above the
    others; their run means scattered 0.81 % against 0.60 % for a fixed 8 layouts of the same
    runs (docs/verdicts.md, "How many layouts"). The history is independent of the run."""
    pooled, df = pooled_variance(history)
    if df == 0:
        return floor
    needed = math.ceil(pooled / target ** 2) if target > 0 else cap
    return max(floor, min(cap, needed))


def prepared(case: Mapping[str, Any], timing: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a case left a process with, for :func:`preparation_context`: the model, how it
    was built and fed, and the layouts it was prepared in (first seed and count). The case's
    id and options are left out: a slowed twin, or the same case after a change, prepares
    the same allocations before the next case (where it does not, the next case's pairs
    break, which its paired spread shows)."""
    figures = (timing or {}).get("layout_figures") or []
    return {k: case.get(k) for k in ("source", "backend", "precision", "batch", "profile")} | {
        "layouts": [figures[0].get("seed"), len(figures)] if figures else None}


# The context of a process's first case: nothing prepared before it.
FIRST_CONTEXT = hashlib.sha256(b"").hexdigest()[:16]


def next_context(context: str, case: Mapping[str, Any]) -> str:
    """The context after ``context`` once ``case`` (:func:`prepared`) was prepared: a
    running digest, so a process keeps one string, not its history."""
    text = context + json.dumps(case, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preparation_context(before: Sequence[Mapping[str, Any]]) -> str:
    """A digest of what the process prepared before a case (:func:`prepared` of each case,
    in order; empty: the case came first, :data:`FIRST_CONTEXT`).

    Why: a seed replays a layout only after the same preparations. On the H200 (session 15,
    docs/verdicts.md "Paired layouts") a case's replayed layouts repeated to 0.1 % in every
    process where the same cases came before it, and were new draws (up to 3 % apart)
    behind other ones. Stored runs pair layouts only with accepted runs of the same context."""
    context = FIRST_CONTEXT
    for case in before:
        context = next_context(context, case)
    return context
