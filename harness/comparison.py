"""Noise-aware comparisons of timing figures. Pure functions over plain arrays.

Why not a test on the raw samples: samples within one run are not independent draws (clocks,
caches and the host drift together), and the spread *between* runs is larger than the spread
within one (docs/verdicts.md; on an H200 a Mann-Whitney test on samples raised false alarms on
82-96 % of identical pairs). So every comparison here works on the log of a per-run (or
per-block) statistic and treats runs, or blocks, as the unit of replication:

* A run is reduced to a :class:`RunEstimate`: the log of its statistic (median, p99) and the
  standard error of that log from batch means — the run is cut into contiguous blocks in time
  order and the spread of the block statistics measures the within-run noise, autocorrelation
  included.
* Against stored baseline runs (:func:`compare_to_baseline`), the between-run variance is
  the baseline runs' spread, floored by a prior (``NoisePrior``: the run-to-run CV of this
  kind of measurement, worth ``weight`` pseudo-runs), so one baseline run still gets an
  honest interval and a wide spread among many runs is taken as it is.
* Against accepted runs that replayed the same memory layouts (:func:`compare_paired_layouts`),
  layout by layout: a layout's deterministic bias cancels in each pair.
* Interleaved A/B blocks (:func:`compare_paired`) give one log-ratio per adjacent (A, B) pair;
  pairs are the replication unit, and what drifts slowly cancels within a pair.

Each comparison gives the estimated relative change with a t interval, one-sided p-values for
"slower" and "faster", and the minimum detectable change (MDC) at a stated power. Many cases in
a run are judged together: :func:`holm` and :func:`benjamini_hochberg` adjust the p-values.

Student's t comes from ``scipy.stats``, imported where it is used: importing scipy.stats
takes seconds, which the command line's start and ``--help`` should not pay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from harness.stats import trimmed_mean

STATISTICS = ("median", "p99", "mean")
# Smallest block per statistic: a block's p99 needs enough samples to have a tail.
MIN_BLOCK = {"median": 5, "mean": 5, "p99": 50}


def statistic(x: np.ndarray, name: str) -> float:
    if name == "median":
        return float(np.median(x))
    if name == "p99":
        return float(np.percentile(x, 99))
    if name == "mean":
        return float(np.mean(x))
    raise ValueError(f"unknown statistic {name!r}; expected one of {STATISTICS}")


def block_statistics(samples: Sequence[float] | np.ndarray, blocks: int,
                     name: str = "median") -> np.ndarray:
    """The statistic of each of ``blocks`` contiguous blocks, in time order (fewer blocks when
    there are not enough samples for ``MIN_BLOCK``)."""
    x = np.asarray(samples, dtype=float)
    k = max(1, min(blocks, len(x) // MIN_BLOCK.get(name, 5)))
    return np.array([statistic(b, name) for b in np.array_split(x, k)])


@dataclass(frozen=True)
class RunEstimate:
    """One run of one case, reduced to what a verdict needs."""

    log_value: float          # log of the run's statistic (in ms)
    within_se: float          # standard error of log_value from the run's own noise
    blocks: int               # batch-means blocks behind within_se (0: from a CI)
    n: int                    # samples
    # The part of within_se that sampling alone explains, where the replicates are layouts
    # (their spread is the workload's, not the run's noise); None: all of it.
    sampling_se: float | None = None

    @property
    def value(self) -> float:
        return math.exp(self.log_value)

    @property
    def noise_se(self) -> float:
        """The run's own measurement noise: what says whether the run itself was disturbed."""
        return self.within_se if self.sampling_se is None else self.sampling_se

    def to_json(self) -> dict[str, float]:
        d = asdict(self)
        if self.sampling_se is None:
            del d["sampling_se"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, float]) -> RunEstimate:
        sampling = d.get("sampling_se")
        return cls(float(d["log_value"]), float(d["within_se"]), int(d["blocks"]), int(d["n"]),
                   None if sampling is None else float(sampling))


def run_estimate(samples: Sequence[float] | np.ndarray, name: str = "median",
                 blocks: int = 10) -> RunEstimate | None:
    """Batch-means estimate of a run's statistic; None when there are no positive samples.

    With fewer than two blocks the within-run error is unknown (``inf``)."""
    x = np.asarray(samples, dtype=float)
    if len(x) == 0 or statistic(x, name) <= 0:
        return None
    b = np.log(np.maximum(block_statistics(x, blocks, name), 1e-300))
    se = float(b.std(ddof=1) / math.sqrt(len(b))) if len(b) >= 2 else math.inf
    return RunEstimate(math.log(statistic(x, name)), se, len(b) if len(b) >= 2 else 0, len(x))


def estimate_from_ci(value: float, ci_low: float, ci_high: float, n: int,
                     confidence: float = 0.95) -> RunEstimate | None:
    """A run known only by its summary (median and CI): the CI's log half-width gives the
    error. It assumes independent samples, so it understates within-run noise; the
    between-run term of the comparison absorbs most of that."""
    if not value or value <= 0 or not ci_low or ci_low <= 0 or not ci_high:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    se = (math.log(ci_high) - math.log(ci_low)) / (2 * z)
    return RunEstimate(math.log(value), max(se, 0.0), 0, int(n or 0))


@dataclass(frozen=True)
class NoisePrior:
    """What we believe about run-to-run noise before seeing several runs: the between-run
    coefficient of variation of the statistic, worth ``weight`` pseudo-runs of evidence
    (the degrees of freedom of a scaled-inverse-chi-square prior)."""

    run_to_run_cv: float = 0.005
    weight: float = 4.0
    # True: the prior is a floor that a smaller observed spread cannot lower (runs of one
    # process's layout, or of a shared CPU, where the runs' own spread is the whole term).
    # False: the runs' replicates are random memory layouts, whose spread each run measures
    # itself; the prior then covers only what is left between runs, and a smaller observed
    # spread lowers it (``weight`` pseudo-runs beside the J - 1 observed). A larger observed
    # spread is taken as measured either way.
    floor: bool = True


@dataclass(frozen=True)
class Comparison:
    """Estimated change of a statistic between two things ("current" vs "reference").

    ``change`` and the interval are relative (0.01 = 1 % slower/larger); the interval is
    two-sided at ``ci_level``, so its lower end is above zero exactly when ``p_slower`` is
    below ``(1 - ci_level) / 2``. ``mdc`` is the smallest change that this comparison would
    detect with probability ``power`` at the one-sided level it was planned for.
    """

    change: float
    log_ratio: float
    se: float
    df: float
    ci: tuple[float, float]
    ci_level: float
    p_slower: float
    p_faster: float
    mdc: float
    power: float
    replicates: int           # baseline runs, or A/B pairs
    between_run_cv: float | None = None
    method: str = ""
    # Stored comparisons: the variance terms behind ``se`` (see more_runs_to_see)
    terms: dict[str, float] | None = None

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return d


def _finish(d: float, se: float, df: float, alpha: float, power: float, tests: int,
            replicates: int, method: str, between: float | None = None,
            terms: dict[str, float] | None = None) -> Comparison:
    df = max(df, 1.0)
    if se <= 0 or not math.isfinite(se):
        # No noise at all (identical values) or unknown noise: intervals are degenerate.
        se = se if math.isfinite(se) else math.inf
    if se == 0:
        p_slow = 0.0 if d > 0 else 1.0
        p_fast = 0.0 if d < 0 else 1.0
        half = 0.0
    elif math.isinf(se):
        p_slow = p_fast = 1.0
        half = math.inf
    else:
        from scipy.stats import t as student_t

        t = d / se
        p_slow, p_fast = float(student_t.sf(t, df)), float(student_t.sf(-t, df))
        half = float(student_t.ppf(1 - alpha, df)) * se
    lo = math.exp(d - half) - 1 if math.isfinite(half) else -1.0
    hi = math.exp(d + half) - 1 if math.isfinite(half) else math.inf
    return Comparison(change=math.exp(d) - 1, log_ratio=d, se=se, df=df, ci=(lo, hi),
                      ci_level=1 - 2 * alpha, p_slower=p_slow, p_faster=p_fast,
                      mdc=detectable_change(se, df, alpha / max(tests, 1), power),
                      power=power, replicates=replicates, between_run_cv=between,
                      method=method, terms=terms)


def detectable_change(se: float, df: float, level: float, power: float = 0.8) -> float:
    """Minimum detectable change: the relative change a one-sided t test at ``level`` (the
    level the decision is actually made at, after any multiple-comparison correction: see
    :func:`decision_levels`) detects with probability ``power``:
    ``exp((t[1 - level] + t[power]) * se) - 1``."""
    if se == 0:
        return 0.0
    if not math.isfinite(se) or se < 0:
        return math.inf
    from scipy.stats import t as student_t

    df = max(df, 1.0)
    log_mdc = float(student_t.ppf(1 - level, df) + student_t.ppf(power, df)) * se
    return math.exp(log_mdc) - 1 if log_mdc < 700 else math.inf


def satterthwaite(terms: Sequence[tuple[float, float]]) -> float:
    """Effective degrees of freedom of a sum of variance terms ``(variance, df)``."""
    total = sum(v for v, _ in terms)
    denom = sum(v * v / df for v, df in terms if v > 0 and df > 0 and math.isfinite(df))
    if total <= 0 or denom <= 0:
        return math.inf
    return total * total / denom


def compare_to_baseline(current: RunEstimate, baseline: Sequence[RunEstimate],
                        prior: NoisePrior = NoisePrior(), alpha: float = 0.01,
                        power: float = 0.8, tests: int = 1) -> Comparison:
    """Current run vs the geometric mean of ``baseline`` runs.

    Model: ``log stat = mu + between-run effect + within-run error``. The between-run
    variance is the baseline runs' variance less their mean within-run variance, pooled with
    the prior; the current run carries its own between-run effect, which is why a single
    stored run can never resolve changes much below the run-to-run CV.
    """
    if not baseline:
        raise ValueError("no baseline runs")
    x = np.array([e.log_value for e in baseline])
    j = len(x)
    w_base = np.array([e.within_se ** 2 for e in baseline])
    w_base = np.where(np.isfinite(w_base), w_base, 0.0)
    mean_w = float(w_base.mean())
    w_cur = current.within_se ** 2 if math.isfinite(current.within_se) else math.inf
    df_cur = _replicate_df(current)
    df_base = sum(_replicate_df(e) for e in baseline)
    pooled = False
    if not prior.floor and math.isfinite(w_cur) and current.blocks >= 2:
        # Layouts: one spread between layouts, the same workload's in every run, pooled over
        # all runs (J(L - 1) + L - 1 degrees of freedom instead of L - 1 for the current run);
        # a current run noisier than its history keeps its own.
        df_base += df_cur
        w_cur, mean_w, df_cur = _pooled_layout_terms(current, baseline, w_cur, df_base)
        pooled = df_cur == df_base
    observed = max(float(x.var(ddof=1)) - mean_w, 0.0) if j >= 2 else 0.0
    if prior.floor and not measured(observed, prior):
        # The prior is a floor: runs accepted close together in time agree better than runs
        # far apart (gpu.md), so a small observed spread must not shrink the noise below it.
        sb2, df_b = prior.run_to_run_cv ** 2, prior.weight + j - 1
    else:
        # A spread above the prior is taken as measured, with its own J - 1 degrees of
        # freedom (a measured spread is never thrown away); with layouts, a quiet history
        # lowers the prior, weighted by its J - 1 degrees of freedom against the prior's
        # pseudo-runs.
        sb2, df_b = between_term(observed, float(j - 1), prior)
    if math.isinf(w_cur):
        return _finish(current.log_value - float(x.mean()), math.inf, 1, alpha, power, tests, j,
                       "baseline-runs", math.sqrt(sb2))
    terms = [(sb2 * (1 + 1 / j), df_b), (w_cur, df_cur), (mean_w / j, df_base)]
    se = math.sqrt(sum(v for v, _ in terms))
    parts = noise_terms((sb2, df_b), measured(observed, prior), (w_cur, df_cur),
                        (mean_w, df_base))
    if pooled:       # one pooled layout spread: one term, not two independent ones
        terms = [terms[0], (w_cur + mean_w / j, df_cur)]
    return _finish(current.log_value - float(x.mean()), se, satterthwaite(terms), alpha, power,
                   tests, j, "baseline-runs", math.sqrt(sb2), parts)


def compare_paired_layouts(current: Sequence[float] | np.ndarray,
                           baseline: Sequence[Sequence[float]] | np.ndarray,
                           prior: NoisePrior, alpha: float = 0.01, power: float = 0.8,
                           tests: int = 1, trim: float = 0.0) -> Comparison:
    """Current run vs accepted runs that measured the very same layouts (their seeds
    replayed: :func:`harness.baseline.layout_count.replayed_seed`), layout by layout.

    ``current`` holds the log statistic of each of the L layouts, ``baseline`` one such row
    per accepted run (J x L), columns in seed order. Model: ``y[r, s] = mu + a[s] + b[r] +
    e[r, s]`` with a layout's bias ``a[s]`` shared by every run that drew seed s (0.2-2 %
    between layouts, reproduced to 0.04-0.09 % in any process: docs/verdicts.md), so it
    cancels in each layout's difference ``d[s] = y[cur, s] - mean_j y[j, s]``:

    - the change is the ``trim``-trimmed mean of the d[s] (a layout whose pair a change in
      allocation broke lands anywhere in the layouts' spread; the trim limits its weight),
      its error their winsorized spread, with L - 2g - 1 degrees of freedom; where the
      accepted runs' own layout-by-run residuals predict more, those (pooled, with their
      (J - 1)(L - 1) degrees of freedom added) are used: a run is never credited with less
      noise than its history shows;
    - the run-level term ``b`` (a whole run shifted, all its layouts alike) does not cancel:
      its variance is the accepted runs' between-run variance beyond their residuals, pooled
      with ``prior`` (never a floor: a quiet history of replays lowers it, a loud one is
      taken as measured), and the current run carries its own.

    A change that moves allocations breaks the pairs: each d[s] then carries two layout
    draws, the spread of the d[s] shows it, and the interval widens to what unpaired layouts
    would give."""
    cur = np.asarray(current, dtype=float)
    if cur.ndim != 1:
        raise ValueError(f"one current run's layouts expected, got shape {cur.shape}")
    return compare_layout_groups(baseline, cur[None, :], prior, alpha, power, tests, trim)


def layout_by_run_ss(rows: np.ndarray) -> float:
    """The layout-by-run residual sum of squares of runs that measured the same layouts
    (rows: runs, columns: layouts; a two-way layout without replication): what is left once
    each run's level and each layout's bias are taken out, on (R - 1)(L - 1) degrees of
    freedom."""
    r = rows - rows.mean(axis=1, keepdims=True) - rows.mean(axis=0) + rows.mean()
    return float((r ** 2).sum())


def measured(observed: float, prior: NoisePrior) -> bool:
    """Whether an observed run-level variance stands on its own (beyond the prior's)."""
    return observed > prior.run_to_run_cv ** 2


def noise_terms(between: tuple[float, float], between_measured: bool,
                current: tuple[float, float], baseline: tuple[float, float]) -> dict[str, float]:
    """A comparison's noise model as it is saved (``Comparison.terms``): each term's
    ``(variance, degrees of freedom)``, and whether the run-level term was measured beyond
    the prior (1.0) or took the prior in (0.0). The flag is stored, not read back from the
    degrees of freedom: under a prior of weight 0 the pooled term has the observed one's."""
    return {"between_var": between[0], "between_df": between[1],
            "between_measured": float(between_measured), "current_var": current[0],
            "current_df": current[1], "baseline_var": baseline[0], "baseline_df": baseline[1]}


def between_term(observed: float, df: float, prior: NoisePrior) -> tuple[float, float]:
    """The run-level variance and its degrees of freedom: the ``observed`` one (on ``df``)
    where it exceeds the prior's, else the two pooled, the prior weighing as its
    ``weight`` degrees of freedom (a weak floor: a few runs cannot claim less)."""
    if measured(observed, prior):
        return observed, df
    return ((prior.weight * prior.run_to_run_cv ** 2 + df * observed) / (prior.weight + df),
            prior.weight + df)


def compare_paired_runs(reference: Sequence[Sequence[float]] | np.ndarray,
                        current: Sequence[Sequence[float]] | np.ndarray, prior: NoisePrior,
                        alpha: float = 0.01, power: float = 0.8, tests: int = 1,
                        trim: float = 0.0) -> Comparison:
    """Runs of "current" against runs of "reference" paired row by row (row i of each: a
    process pair that measured the same L layouts over the same base pad; columns: layouts
    in seed order; log statistic), as ``ab --processes`` measures them.

    The difference ``d[i, s]`` is judged on two levels: per layout, the pairs' mean
    (``own``, L - 1 degrees of freedom, pooled with the pair-by-layout residual as
    :func:`compare_layout_groups` pools it), and per pair, the layouts' mean, whose spread
    beyond the residual's is the run-level term: each pair's base is its own draw, so where
    B allocates differently from A and all its layouts shift together, the shift differs
    from pair to pair and this term measures it (on pairs - 1 degrees of freedom, the prior
    a weak floor, :func:`between_term`). A pair's difference holds two runs' terms, so the
    run-level variance is half its spread.

    Where that term is measured (beyond the prior), the interval is on the pairs' degrees of
    freedom alone: the measured term is the pairs' spread less the layouts' part, so the two
    terms add up to the pairs' own spread (one-way random effects, the layouts nested in the
    pairs: over a base per pair, a B that allocates differently has other layouts in every
    pair), and Satterthwaite's sum of two independent terms credited it with the layouts'
    degrees of freedom too. Found on the H200 (session 19): an A/A with B's layouts moved
    read "faster" -1.85 % [-2.91, -0.78] on 11 degrees of freedom, where its three pairs'
    means (-0.99, -2.27, -2.36 %) on 2 give [-4.9, +1.2] %. Where the prior floors the term
    (the pairs agree), the terms are independent and keep their degrees of freedom."""
    base = np.atleast_2d(np.asarray(reference, dtype=float))
    cur = np.atleast_2d(np.asarray(current, dtype=float))
    (k, n) = base.shape
    if cur.shape != base.shape or n < 3:
        raise ValueError(f"paired runs need as many runs on each side, each of 3 or more "
                         f"layouts (current {cur.shape}, reference {base.shape})")
    d = cur - base
    change, se_own = trimmed_mean(d.mean(axis=0), trim)
    own, df_own = se_own ** 2, float(n - 2 * math.floor(trim * n) - 1)
    observed, df_runs, pairs_var = 0.0, float(k - 1), 0.0
    if k >= 2:
        df_res = df_runs * (n - 1)
        ms = layout_by_run_ss(d) / df_res           # one pair's layout-by-pair noise
        pooled = (df_own * own + df_res * ms / (k * n)) / (df_own + df_res)
        if pooled > own:
            own, df_own = pooled, df_own + df_res
        pairs_var = float(d.mean(axis=1).var(ddof=1))   # the pairs' mean differences
        observed = max(pairs_var - ms / n, 0.0) / 2
    sb2, df_b = between_term(observed, df_runs, prior)
    terms = [(2 * sb2 / k, df_b), (own, df_own)]
    se, df = math.sqrt(sum(v for v, _ in terms)), satterthwaite(terms)
    w = own * k / 2          # as compare_layout_groups states its terms (own = w/k + w/k)
    pairs_measured = measured(observed, prior)
    parts = noise_terms((sb2, df_b), pairs_measured, (w / k, df_own), (w, df_own * k))
    if pairs_measured:                       # the pairs' own spread is the interval's
        se, df = max(se, math.sqrt(pairs_var / k)), df_runs
    return _finish(change, se, df, alpha, power, tests, k, "paired-runs", math.sqrt(sb2),
                   parts)


def compare_layout_groups(reference: Sequence[Sequence[float]] | np.ndarray,
                          current: Sequence[Sequence[float]] | np.ndarray, prior: NoisePrior,
                          alpha: float = 0.01, power: float = 0.8, tests: int = 1,
                          trim: float = 0.0) -> Comparison:
    """Runs of "current" vs runs of "reference" that all measured the same L layouts (rows:
    runs, columns: layouts in seed order; log statistic): :func:`compare_paired_layouts`
    for several current runs (one current run is the stored verdict's case; several, runs of
    A and B in alternate processes). Per layout ``d[s]`` is the current runs' mean less the
    reference runs'; the layout-by-run residuals and the run-level spread are pooled over
    both groups, and each group's run-level term enters as ``sb2 / R`` of its R runs."""
    base = np.atleast_2d(np.asarray(reference, dtype=float))
    cur = np.atleast_2d(np.asarray(current, dtype=float))
    (j, n), k = base.shape, cur.shape[0]
    if cur.shape[1] != n or n < 3 or j < 1 or k < 1:
        raise ValueError(f"paired layouts need 3 or more layouts in every run "
                         f"(current {cur.shape}, baseline {base.shape})")
    inv = 1 / j + 1 / k
    d = cur.mean(axis=0) - base.mean(axis=0)
    change, se_own = trimmed_mean(d, trim)
    own, df_own = se_own ** 2, float(n - 2 * math.floor(trim * n) - 1)
    groups = [g for g in (base, cur) if len(g) >= 2]
    observed, df_runs = 0.0, float(sum(len(g) - 1 for g in groups))
    if groups:
        df_hist = df_runs * (n - 1)
        ms = sum(map(layout_by_run_ss, groups)) / df_hist   # one run's layout-by-run noise
        history = ms * inv / n                          # what it predicts for the mean d
        pooled = (df_own * own + df_hist * history) / (df_own + df_hist)
        if pooled > own:
            own, df_own = pooled, df_own + df_hist
        between = sum(float(g.mean(axis=1).var(ddof=1)) * (len(g) - 1) for g in groups)
        observed = max(between / df_runs - ms / n, 0.0)
    sb2, df_b = between_term(observed, df_runs, prior)
    terms = [(sb2 * inv, df_b), (own, df_own)]
    se = math.sqrt(sum(v for v, _ in terms))
    # more_runs_to_see's terms: the paired spread is both groups' layout-by-run noise
    # together (own = w / k + w / j)
    w = own / inv
    parts = noise_terms((sb2, df_b), measured(observed, prior), (w / k, df_own),
                        (w, df_own * j))
    return _finish(change, se, satterthwaite(terms), alpha, power, tests, j, "paired-layouts",
                   math.sqrt(sb2), parts)


def _replicate_df(e: RunEstimate) -> float:
    """Degrees of freedom of a run's own error: its replicates (batch-means blocks or
    layouts) less one, or its samples less one for an estimate from a summary CI."""
    return max(e.blocks - 1, 1) if e.blocks else e.n - 1


def _pooled_layout_terms(current: RunEstimate, baseline: Sequence[RunEstimate], w_cur: float,
                         df: float) -> tuple[float, float, float]:
    """The current run's error variance, the baseline runs' mean one and the current run's
    degrees of freedom, from one spread between layouts pooled over every run
    (``within_se² · L`` is a run's variance between its L layouts; ``df`` the pooled
    degrees of freedom). The current run keeps its own error where that is larger."""
    runs = [e for e in (current, *baseline) if e.blocks >= 2 and math.isfinite(e.within_se)]
    weights = [e.blocks - 1 for e in runs]
    pooled = sum(w * e.within_se ** 2 * e.blocks
                 for w, e in zip(weights, runs, strict=True)) / sum(weights)
    mean_w = float(np.mean([pooled / max(e.blocks, 1) for e in baseline]))
    shared = pooled / max(current.blocks, 1)
    if w_cur > shared:
        return w_cur, mean_w, _replicate_df(current)
    return shared, mean_w, df


def more_runs_to_see(terms: dict[str, float], runs: int, tolerance: float, level: float,
                     power: float = 0.8, cap: int = 100) -> float:
    """How many more accepted runs would bring the stored comparison's MDC down to
    ``tolerance`` (at one-sided ``level``), under its own noise model (``terms`` from
    :func:`compare_to_baseline`): with J runs the variance is
    ``between·(1 + 1/J) + current + baseline/J``, so only the between-run part of the
    baseline mean and the baseline runs' own noise shrink with J; the between-run and
    within-run terms of the current run remain however many runs are accepted.

    0 when the MDC already reaches the tolerance; ``inf`` when even infinitely many would not
    (the remaining terms alone put the MDC above the tolerance); ``cap + 1`` when more than
    ``cap`` would be needed."""
    sb2, w_cur, w_base = terms["between_var"], terms["current_var"], terms["baseline_var"]
    if not math.isfinite(w_cur):
        return math.inf
    from scipy.stats import norm

    floor = math.sqrt(sb2 + w_cur)
    if math.exp(float(norm.ppf(1 - level) + norm.ppf(power)) * floor) - 1 > tolerance:
        return math.inf
    base_df_per_run = terms["baseline_df"] / max(runs, 1)
    for more in range(cap + 1):
        j = runs + more
        parts = [(sb2 * (1 + 1 / j), terms["between_df"] + more),
                 (w_cur, terms["current_df"]), (w_base / j, base_df_per_run * j)]
        se = math.sqrt(sum(v for v, _ in parts))
        if detectable_change(se, satterthwaite(parts), level, power) <= tolerance:
            return more
    return cap + 1


def paired_log_ratios(a_blocks: Sequence[float], b_blocks: Sequence[float]) -> np.ndarray:
    """log(B/A) for each adjacent pair of block statistics (same length, pair order)."""
    a, b = np.asarray(a_blocks, dtype=float), np.asarray(b_blocks, dtype=float)
    if a.shape != b.shape:
        raise ValueError("A and B need the same number of blocks")
    return np.log(b) - np.log(a)


def disturbed_pairs(d: np.ndarray, limit: float = 5.0, max_share: float = 0.2,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """Mask of pairs far outside the others (``limit`` robust SDs from the median, by the
    MAD): a clock or co-tenant step inside one pair moves that pair only. At most
    ``max_share`` of the pairs are ever set aside; with normal noise 5 SDs almost never are.

    With ``groups`` (the preparation pair each pair measured), no preparation loses all its
    pairs: when they all sit far out together, it is the preparation (its layout) that is
    far out, the very spread the random-effects interval must see. Set aside, such a
    preparation left the others agreeing too well: a simulated
    squeezenet1_1-like A/A (preparations 1.85 % apart) came out "slower" or "faster" in
    2.2 % of first looks instead of the nominal 1 % (benchmarks/extension_model.py)."""
    out = _far_out(d, limit, max_share)
    if groups is not None:
        for g in np.unique(groups[out]):
            mine = groups == g
            if out[mine].all():
                out[mine] = False
    return out


def _far_out(d: np.ndarray, limit: float, max_share: float) -> np.ndarray:
    """:func:`disturbed_pairs` without preparations: pairs ``limit`` MADs from the median."""
    if len(d) < 6:
        return np.zeros(len(d), dtype=bool)
    med = float(np.median(d))
    mad = 1.4826 * float(np.median(np.abs(d - med)))
    if mad <= 0:
        return np.zeros(len(d), dtype=bool)
    z = np.abs(d - med) / mad
    out = z > limit
    cap = int(max_share * len(d))
    if out.sum() > cap:
        keep_out = np.argsort(-z)[:cap]
        out = np.zeros(len(d), dtype=bool)
        out[keep_out] = True
    return out


def compare_paired(log_ratios: Sequence[float] | np.ndarray, alpha: float = 0.01,
                   power: float = 0.8, tests: int = 1, robust: bool = True,
                   instance_var: float = 0.0) -> Comparison:
    """B vs A from per-pair log-ratios (one per interleaved pair of blocks): a paired t
    interval with pairs as the replication unit (``robust``: disturbed pairs set aside,
    their count in ``method``). ``instance_var`` is the variance of the log-ratio that the
    particular preparations of A and B add (a known prior: the blocks cannot see it), added
    to the blocks' own, with Satterthwaite's degrees of freedom."""
    d = np.asarray(log_ratios, dtype=float)
    dropped = disturbed_pairs(d) if robust else np.zeros(len(d), dtype=bool)
    d = d[~dropped]
    k = len(d)
    if k < 2:
        return _finish(float(d.mean()) if k else 0.0, math.inf, 1, alpha, power, tests, k,
                       "paired-blocks")
    se2 = float(d.var(ddof=1) / k)
    df = satterthwaite([(se2, k - 1), (instance_var, math.inf)]) if instance_var else k - 1
    method = "paired-blocks" + (f" ({int(dropped.sum())} disturbed pair(s) set aside)"
                                if dropped.any() else "")
    return _finish(float(d.mean()), math.sqrt(se2 + instance_var), min(df, 1e6), alpha, power,
                   tests, k, method)


def compare_preparations(log_ratios: Sequence[float] | np.ndarray,
                         groups: Sequence[int] | np.ndarray, alpha: float = 0.01,
                         power: float = 0.8, tests: int = 1,
                         instance_var: float = 0.0, trim: float = 0.0) -> Comparison:
    """B vs A when the pairs come from several preparations (memory layouts) of each side:
    ``groups`` names the preparation pair each log-ratio measured.

    A preparation carries a fixed offset that no number of blocks averages out (gpu.md: the
    same allocation order repeats the same bias), so the replication unit is the preparation
    pair. Two models are fitted and the wider one is used:

    * the blocks' own spread plus ``instance_var``, a prior for the preparations' offsets
      (:func:`compare_paired`): right when the preparations agree, and the only choice with a
      single preparation;
    * a random-effects interval over the preparation pairs' means, with their own ``k - 1``
      degrees of freedom: used as soon as the preparations disagree more than the prior
      allows. The prior is only ever a floor; a measured spread is never thrown away, so a
      change far beyond the spread is still called (issue 22: +20 % was "unstable").
    """
    d = np.asarray(log_ratios, dtype=float)
    g = np.asarray(groups, dtype=int)
    keep = ~disturbed_pairs(d, groups=g)
    fixed = compare_paired(d[keep], alpha, power, tests, robust=False,
                           instance_var=instance_var)
    if keep.sum() < len(d):
        fixed = replace(fixed, method=f"paired-blocks ({int((~keep).sum())} disturbed "
                        "pair(s) set aside)")
    d, g = d[keep], g[keep]
    means = np.array([d[g == i].mean() for i in np.unique(g)])
    k = len(means)
    if k < 2:
        return fixed
    # Yuen's trimmed mean, its error from the winsorized spread (cutting none: the mean)
    value, se_re = trimmed_mean(means, trim)
    if se_re <= fixed.se:
        return fixed
    cut = math.floor(trim * k)
    how = f"trimmed ({cut} each end) " if cut else ""
    df = k - 2 * cut - 1
    return _finish(value, se_re, df, alpha, power, tests, k,
                   f"random-effects {how}over {k} preparation pairs (df {df})")


LOOK_SPENDING = ("split", "halving", "front")
# "front": the share of alpha the first look spends; the later looks halve the rest.
FRONT_SHARE = 0.8


def look_level(alpha: float, looks: int, spending: str = "split") -> float:
    """The false-alarm level of a sequential comparison's ``looks``-th look at its data (A/B's
    self-extension). "split": alpha / looks, the rule the H200 panel ran with; the first look
    has spent all of alpha, so a comparison that extends can call a false change with
    probability up to alpha (1 + 1/2 + ... + 1/looks) (simulated: 1.8 % at alpha 1 % for
    shufflenet_v2_x1_0's layout spread). "halving": alpha / 2**looks, alpha spending whose
    levels sum to less than alpha over any number of looks, at half of alpha for the first.
    "front": ``FRONT_SHARE`` of alpha at the first look, the rest halved over the later ones
    (0.1, 0.05 ... of alpha), also alpha in all, for less first-look power lost."""
    if spending not in LOOK_SPENDING:
        raise ValueError(f"look spending {spending!r}: expected one of {LOOK_SPENDING}")
    looks = max(int(looks), 1)
    if spending == "split":
        return alpha / looks
    if spending == "halving":
        return alpha / 2 ** looks
    return alpha * (FRONT_SHARE if looks == 1 else (1 - FRONT_SHARE) / 2 ** (looks - 1))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: family-wise error control under any dependence."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false-discovery-rate control)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="mergesort")[::-1]
    adj = np.empty(m)
    running = 1.0
    for rank, i in enumerate(order):
        running = min(running, p[i] * m / (m - rank))
        adj[i] = running
    return adj.tolist()


def decision_levels(pvalues: Sequence[float], alpha: float,
                    correction: str = "holm") -> list[float]:
    """The unadjusted one-sided level each test was decided at (rejected tests), or would
    have to pass to be rejected given the others' outcomes (the rest), under ``correction``.

    Holm: the r-th smallest p (0-based) is compared with alpha / (m - r), and rejections stop
    at the first failure; with R rejected, rejected test r was decided at alpha / (m - r) and
    any other would need alpha / (m - R) (it would become the next step). With nothing
    rejected that is alpha / m, Holm's worst-case first step, for every test.
    Benjamini-Hochberg: with K rejected, those were decided at alpha K / m and any other
    would need alpha (K + 1) / m. ``none``: alpha."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return []
    if correction == "none":
        return [alpha] * m
    order = np.argsort(p, kind="mergesort")
    levels = np.empty(m)
    if correction == "holm":
        rejected = 0
        while rejected < m and p[order[rejected]] * (m - rejected) < alpha:
            rejected += 1
        for rank, i in enumerate(order):
            levels[i] = alpha / (m - min(rank, rejected))
        return levels.tolist()
    if correction == "bh":
        below = [k + 1 for k in range(m) if p[order[k]] * m / (k + 1) < alpha]
        rejected = max(below) if below else 0
        for rank, i in enumerate(order):
            levels[i] = alpha * min(rejected if rank < rejected else rejected + 1, m) / m
        return levels.tolist()
    raise ValueError(f"unknown correction {correction!r}; expected one of {sorted(CORRECTIONS)}")


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg,
               "none": lambda p: [float(x) for x in p]}
