"""The order of A/B blocks: balanced and randomised.

Blocks come in pairs; each pair is "AB" or "BA", chosen so that every four blocks hold an
ABBA or BAAB quad (a linear drift cancels inside a quad) and which quad comes next is random
(a periodic disturbance cannot line up with one side). Each side leads equally often, so a
warm-after-switch effect falls on both.
"""

from __future__ import annotations

import random


def block_order(pairs: int, seed: int = 0) -> list[tuple[str, str]]:
    """``pairs`` (first, second) tuples, e.g. [("A","B"), ("B","A"), ("B","A"), ("A","B")]."""
    if pairs < 1:
        raise ValueError("need at least one pair of blocks")
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < pairs:
        first = ("A", "B") if rng.random() < 0.5 else ("B", "A")
        out += [first, first[::-1]]
    return out[:pairs]


def order_text(order: list[tuple[str, str]]) -> str:
    return "".join(a + b for a, b in order)
