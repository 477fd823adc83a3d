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

import math
import os
import random
import statistics
from dataclasses import dataclass

MIB = 1 << 20
# Large pads move the big allocations (weights, activations: the caching allocator's large
# pool, 2 MiB segments); small ones the sub-MiB tensors (its small pool). 1-64 MiB is the
# range over which the layout study saw the per-preparation pattern follow the seed.
LARGE_PAD = (1 * MIB, 64 * MIB)
SMALL_PAD = (0, 1 * MIB)
ALIGN = 512                 # the caching allocator's rounding: finer offsets change nothing
STAGES = ("weights", "buffers")
# Layouts per case in stored runs where the scenario names none (``timing.layouts``). Chosen
# on shufflenet_v2_x1_0 (H200, fp16 b8 CUDA graph; docs/verdicts.md, "Layouts in stored
# runs"): with one layout, adding a case before it moved its median +7.8 % in 5 of 5 runs
# (a false regression); with 4, the runs alone and after other cases agreed (-2.0 to -0.1 %)
# and a run's own error stayed near 1 %, at four preparations' cost (0.1-0.4 s each).
DEFAULT_LAYOUTS = 4
# Where the first DEFAULT_LAYOUTS disagree, more are drawn (once, after them) until the run's
# mean over layouts has a standard error near LAYOUT_SE_TARGET, at most MAX_LAYOUTS. Chosen
# on the tuning workloads (H200 layout study, fp16 b8 CUDA graph): SD between random layouts
# 1.35 % shufflenet_v2_x1_0, 0.27 % efficientnet_b0, 0.13 % resnet50 (stored runs). With 4
# layouts shufflenet's run mean carries ±0.6-0.7 %, about its whole stored MDC budget; 0.3 %
# is half the between-run prior (harness.baseline.verdict, layout_run_cv 0.6 %), so the
# layouts stop being the larger term, and 16 bounds the cost (shufflenet: 16 layouts,
# efficientnet_b0 and resnet50: 4, as before).
LAYOUT_SE_TARGET = 0.003
MAX_LAYOUTS = 16


@dataclass(frozen=True)
class Layout:
    """A seeded placement: the pads (in bytes) to hold before each stage's allocations."""

    seed: int

    def pads(self, stage: str) -> tuple[int, int]:
        """(large, small) pad before ``stage`` ("weights": the model's parameters;
        "buffers": inputs, outputs, activations and captured graphs)."""
        if stage not in STAGES:
            raise ValueError(f"unknown layout stage {stage!r}; expected one of {STAGES}")
        rng = random.Random(self.seed * len(STAGES) + STAGES.index(stage))
        return (rng.randrange(LARGE_PAD[0], LARGE_PAD[1], ALIGN),
                rng.randrange(SMALL_PAD[0], SMALL_PAD[1], ALIGN))


def random_seed() -> int:
    """A fresh layout seed (recorded beside the results, so the run can be replayed)."""
    return int.from_bytes(os.urandom(4), "little")


def derived_seed(seed: int, *parts: object) -> int:
    """A layout seed drawn from ``seed`` and ``parts`` (an A/B redraw's block-order seed, pair
    and side): the same in every process, so the one recorded seed replays every draw."""
    return random.Random(":".join(map(str, (seed, *parts)))).getrandbits(32)


def layouts_wanted(log_medians: list[float], target: float = LAYOUT_SE_TARGET,
                   cap: int = MAX_LAYOUTS) -> int:
    """How many layouts a run needs in all, from the log medians of those it measured: as
    many as bring the standard error of their mean to ``target`` (at least as many as there
    are, at most ``cap``). One look after the first layouts, so the count is not chosen
    by repeated peeking at a noisy spread."""
    n = len(log_medians)
    if n < 2:
        return n
    needed = math.ceil(statistics.variance(log_medians) / target ** 2) if target > 0 else cap
    return max(n, min(cap, needed))
