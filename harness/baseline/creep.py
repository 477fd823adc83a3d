"""Creep across accepts: change points in a case's series of accepted runs. Pure functions.

Each accepted run passed its verdict against the runs before it, so a series of small
slowdowns, each inside the tolerance or the noise, can add up unnoticed. Two detectors run
over the log of the accepted runs' medians (oldest first):

* **Steps** (:func:`detect_steps`): asv's step detection (airspeed-velocity/asv,
  ``asv/step_detect.py``: ``solve_potts``, ``solve_potts_autogamma``; after Friedrich et al.,
  "Complexity Penalized M-Estimation: Fast Computation", JCGS 17 (2008), and Yao's Schwarz
  criterion, Stat. Probab. Lett. 6 (1988)). A piecewise-constant L1 fit (weighted medians
  per piece) with a penalty ``gamma`` per piece, solved exactly by dynamic programming; gamma
  is chosen on a grid by asv's information criterion
  ``beta * pieces + ln(sigma_0 + sum |y - fit|)`` with ``beta = 4 ln(n) / n`` and asv's noise
  floor ``sigma_0``. Reimplemented compactly for our short series (at most a few dozen runs:
  the exact O(n^3) solution instead of asv's windowed approximation, a grid instead of its
  golden-section search, and without its AR(1) noise term).
* **Creep** (:func:`detect_creep`): a slow monotone drift that no single step explains (or
  that the step fit splits into pieces below the penalty): Kendall's trend test on the
  series, the size from the Theil-Sen slope, flagged when the cumulative change over the
  series reaches ``min_change`` and the trend is clear at ``alpha``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Change:
    """A change in a case's accepted runs: ``kind`` "step" (between runs ``start`` and
    ``end``, 0-based, adjacent) or "creep" (from run ``start`` to run ``end``); ``before`` and
    ``after`` are the levels (ms) either side, ``change`` the relative change."""

    kind: str
    start: int
    end: int
    before: float
    after: float
    change: float
    p: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, runs: Sequence[str] | None = None) -> str:
        name = (lambda i: runs[i]) if runs else (lambda i: f"#{i + 1}")
        if self.kind == "step":
            return (f"step {self.change:+.2%} between accepted runs {name(self.start)} and "
                    f"{name(self.end)} ({self.before:.4g} -> {self.after:.4g} ms)")
        return (f"creep {self.change:+.2%} from accepted run {name(self.start)} to "
                f"{name(self.end)} ({self.end - self.start} runs, "
                f"{self.change / max(self.end - self.start, 1):+.2%} per run, trend p "
                f"{self.p:.2g})")


def weighted_median(y: np.ndarray, w: np.ndarray) -> float:
    """asv's weighted median: the value where the cumulative weight crosses half (the mean
    of the two values when it lands exactly on half)."""
    order = np.argsort(y, kind="mergesort")
    ys, cw = y[order], np.cumsum(w[order])
    half = cw[-1] / 2
    i = int(np.searchsorted(cw, half))
    if math.isclose(cw[i], half) and i + 1 < len(ys):
        return float((ys[i] + ys[i + 1]) / 2)
    return float(ys[i])


def _pieces_costs(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and L1 cost of every piece y[l:r+1]."""
    n = len(y)
    mu, cost = np.zeros((n, n)), np.zeros((n, n))
    for left in range(n):
        for right in range(left, n):
            m = weighted_median(y[left:right + 1], w[left:right + 1])
            mu[left, right] = m
            cost[left, right] = float(np.sum(w[left:right + 1] * np.abs(y[left:right + 1] - m)))
    return mu, cost


def solve_potts(cost: np.ndarray, gamma: float) -> list[int]:
    """Exact minimiser of ``gamma * pieces + sum of piece costs`` (Bellman recursion, asv's
    ``solve_potts``): the exclusive right ends of the pieces."""
    n = len(cost)
    best = np.full(n + 1, math.inf)
    best[0] = -gamma
    start = np.zeros(n + 1, dtype=int)
    for r in range(1, n + 1):
        for left in range(r):
            b = best[left] + gamma + cost[left, r - 1]
            if b <= best[r]:
                best[r], start[r] = b, left
    rights, r = [], n
    while r > 0:
        rights.append(r)
        r = int(start[r])
    return rights[::-1]


def _fit_steps(y: np.ndarray, w: np.ndarray, beta: float | None = None,
               grid: int = 40) -> tuple[list[int], list[float], float]:
    """asv's autogamma fit on ``y``: piece right ends, piece levels and the L1 cost."""
    n = len(y)
    mu, cost = _pieces_costs(y, w)
    beta = 4 * math.log(n) / n if beta is None else beta
    gamma0 = cost[0, n - 1] or 1.0
    best: tuple[float, list[int], list[float], float] | None = None
    for x in np.linspace(math.log(0.1 / n), 0.0, grid):
        rights = solve_potts(cost, gamma0 * math.exp(x))
        lefts = [0, *rights[:-1]]
        levels = [float(mu[a, b - 1]) for a, b in zip(lefts, rights, strict=True)]
        s = float(sum(cost[a, b - 1] for a, b in zip(lefts, rights, strict=True)))
        # asv's floor on the noise, so a perfect fit cannot win by ln(0)
        if len(levels) > 2:
            sigma0 = 0.1 * min(abs(b - a) for a, b in itertools.pairwise(levels))
        else:
            sigma0 = 0.001 * min(abs(z) for z in levels)
        obj = beta * len(rights) + math.log(max(sigma0, 1e-300) + s)
        if best is None or obj < best[0]:
            best = (obj, rights, levels, s)
    assert best is not None
    return best[1], best[2], best[3]


def detect_steps(values: Sequence[float], weights: Sequence[float] | None = None,
                 beta: float | None = None) -> list[Change]:
    """Steps in a series of positive values (accepted runs' medians, oldest first), fitted
    on their logs; asv's criterion picks the number of pieces."""
    v = np.asarray(values, dtype=float)
    if len(v) < 3 or np.any(v <= 0):
        return []
    w = np.ones(len(v)) if weights is None else np.asarray(weights, dtype=float)
    rights, levels, _ = _fit_steps(np.log(v), w / np.median(w), beta)
    return [Change("step", rights[i] - 1, rights[i], math.exp(levels[i]),
                   math.exp(levels[i + 1]), math.exp(levels[i + 1] - levels[i]) - 1)
            for i in range(len(rights) - 1)]


def detect_creep(values: Sequence[float], min_change: float = 0.02,
                 alpha: float = 0.01) -> Change | None:
    """A monotone drift over the whole series whose cumulative size (Theil-Sen slope times
    the span) reaches ``min_change``, with Kendall's trend test below ``alpha``."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n < 4 or np.any(v <= 0):
        return None
    from scipy.stats import kendalltau, theilslopes

    y, x = np.log(v), np.arange(n, dtype=float)
    p = float(kendalltau(x, y).pvalue)
    slope, intercept = theilslopes(y, x)[:2]
    total = math.exp(slope * (n - 1)) - 1
    if not (p < alpha and abs(total) >= min_change):
        return None
    return Change("creep", 0, n - 1, math.exp(intercept), math.exp(intercept + slope * (n - 1)),
                  total, p)


def detect_changes(values: Sequence[float], min_change: float = 0.02,
                   alpha: float = 0.01) -> list[Change]:
    """Steps, or creep where the series is a drift rather than steps: when a clear trend
    (:func:`detect_creep`) fits the logs better (smaller L1 cost) than the step fit does, the
    steps are artefacts of cutting a slope into pieces and the creep is reported instead (a
    true step fits better as a step: a line through it misses both sides)."""
    steps = detect_steps(values)
    creep = detect_creep(values, min_change, alpha)
    if creep is None:
        return steps
    if not steps:
        return [creep]
    y = np.log(np.asarray(values, dtype=float))
    x = np.arange(len(y), dtype=float)
    _, _, step_cost = _fit_steps(y, np.ones(len(y)))
    slope = math.log(1 + creep.change) / max(len(y) - 1, 1)
    line_cost = float(np.abs(y - math.log(creep.before) - slope * x).sum())
    return [creep] if line_cost < step_cost else steps


def case_changes(entries: Sequence[dict[str, Any]], min_change: float = 0.02,
                 alpha: float = 0.01) -> list[Change]:
    """Changes over a case's accepted baseline entries (oldest first), by their medians."""
    meds = [(e.get("stats_ms") or {}).get("median") for e in entries]
    idx = [i for i, m in enumerate(meds) if m and m > 0]
    found = detect_changes([meds[i] for i in idx], min_change, alpha)
    # back to the entries' positions (build-only entries have no median)
    return [Change(c.kind, idx[c.start], idx[c.end], c.before, c.after, c.change, c.p)
            for c in found]
