"""The stopping rule: when have we measured enough? (nvbench's "stopping criterion" concept:
initialise, add a measurement, ask whether it is finished.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.scenario.schema import StopRule
from harness.stats import relative_ci_halfwidth


@dataclass
class StoppingCriterion:
    """Stop when the median's CI is narrow enough (after the minimum samples and time), or
    when the time or sample cap is reached. ``reason`` says which."""

    rule: StopRule
    samples: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    reason: str = ""
    rel_ci: float = float("inf")
    _next_check: int = 0

    def add(self, sample: float, elapsed: float) -> None:
        self.samples.append(sample)
        self.elapsed = elapsed

    def extend(self, samples: list[float], elapsed: float) -> None:
        self.samples.extend(samples)
        self.elapsed = elapsed

    def is_finished(self) -> bool:
        n, rule = len(self.samples), self.rule
        if n >= rule.max_samples:
            self.reason = f"sample cap ({rule.max_samples})"
            return True
        if self.elapsed >= rule.max_time and n >= min(3, rule.min_samples):
            self._update_ci()
            self.reason = f"time cap ({rule.max_time:g} s)"
            return True
        if n < rule.min_samples or self.elapsed < rule.min_time:
            return False
        # The CI is re-computed only as the sample count grows by ~5 %: sorting on every
        # sample would make the check cost O(n^2 log n) over a long run.
        if n < self._next_check:
            return False
        self._next_check = n + max(8, n // 20)
        self._update_ci()
        if self.rel_ci <= rule.rel_ci:
            self.reason = f"converged (median CI ±{self.rel_ci:.3%} <= ±{rule.rel_ci:.3%})"
            return True
        return False

    def _update_ci(self) -> None:
        self.rel_ci = relative_ci_halfwidth(np.asarray(self.samples), self.rule.confidence)
