"""Is a difference between two design choices real? Paired statistics over seeds.

Runs of two choices that share a seed share everything else (data split, initialisation stream), so
we compare them pairwise: d_i = metric(choice, seed i) - metric(baseline, seed i), and ask whether the
mean of d is away from zero in two ways:

- a paired bootstrap: resample the n differences with replacement, take the mean; the percentile
  interval of those means. With few seeds (n <= 8) every distinct resample is enumerated with its
  multinomial probability (exact, no Monte Carlo noise); beyond that, `n_resamples` seeded draws.
- a paired t-test: t = mean(d) / (sd(d) / sqrt(n)) with n - 1 degrees of freedom.

A difference is marked significant when both agree (the bootstrap interval excludes 0 and p < alpha).
The bootstrap alone is too eager with three seeds: its 95% interval excludes 0 whenever the three
differences share a sign, which happens by chance one time in four; the t-test accounts for n.

    >>> c = paired_comparison({1: 0.70, 2: 0.71, 3: 0.69}, {1: 0.75, 2: 0.77, 3: 0.74})
    >>> round(c.mean_diff, 4), c.n, c.method
    (0.0533, 3, 'exact')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MAX_EXACT_RESAMPLES = 20_000  # distinct bootstrap resamples enumerated exactly: C(2n-1, n) <= this (n <= 8)


@dataclass(frozen=True)
class PairedComparison:
    """Choice minus baseline over the seeds both have."""

    n: int  # paired seeds
    mean_diff: float
    ci_low: float  # bootstrap percentile interval of the mean difference
    ci_high: float
    method: str  # "exact" (all resamples enumerated) or "monte-carlo"
    t_low: float  # t interval of the mean difference
    t_high: float
    p_value: float  # two-sided paired t-test
    level: float

    @property
    def significant(self) -> bool:
        return (self.ci_low > 0 or self.ci_high < 0) and self.p_value < 1.0 - self.level


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 in the denominator; NaN for one value)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan


def _weighted_interval(values: np.ndarray, weights: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of a discrete distribution: the lowest v with P(X <= v) >= alpha/2 and the
    highest v with P(X >= v) >= alpha/2 (no interpolation: an exact bootstrap has few distinct values)."""
    tail = (1.0 - level) / 2.0
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order] / weights.sum()
    tol = 1e-12  # cumulative sums of exact probabilities land a hair off alpha/2
    low = v[np.searchsorted(np.cumsum(w), tail - tol)]
    high = v[::-1][np.searchsorted(np.cumsum(w[::-1]), tail - tol)]
    return float(low), float(high)


def _exact_bootstrap_means(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct resample of d (a multiset of indices) with its probability n! / prod(c_i!) / n^n."""
    n = d.size
    means, weights = [], []
    for combo in itertools.combinations_with_replacement(range(n), n):
        counts = np.bincount(combo, minlength=n)
        means.append(float(counts @ d) / n)
        weights.append(math.factorial(n) / math.prod(math.factorial(c) for c in counts) / n**n)
    return np.asarray(means), np.asarray(weights)


def bootstrap_interval(
    diffs: Sequence[float],
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    max_exact: int = MAX_EXACT_RESAMPLES,
) -> tuple[float, float, str]:
    """Percentile interval of the mean of `diffs` under resampling with replacement; (low, high, method).

    Exact when the number of distinct resamples, C(2n-1, n), is at most `max_exact`; else seeded draws.
    """
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        raise ValueError("bootstrap_interval needs at least one difference")
    if math.comb(2 * d.size - 1, d.size) <= max_exact:
        means, weights = _exact_bootstrap_means(d)
        method = "exact"
    else:
        idx = np.random.default_rng(seed).integers(0, d.size, size=(n_resamples, d.size))
        means, weights = d[idx].mean(axis=1), np.ones(n_resamples)
        method = "monte-carlo"
    low, high = _weighted_interval(means, weights, level)
    return low, high, method


def paired_t(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Two-sided paired t-test of mean(diffs) = 0: (interval low, interval high, p-value).

    Identical differences have no spread: p is 0 (1 if they are all 0) and the interval is the point.
    """
    from scipy import stats  # only compare.py needs scipy; keep it off the run path

    d = np.asarray(diffs, dtype=float)
    n = d.size
    if n < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return mean, mean, 1.0 if mean == 0.0 else 0.0
    se = sd / math.sqrt(n)
    t = mean / se
    p = float(2.0 * stats.t.sf(abs(t), df=n - 1))
    half = float(stats.t.ppf(0.5 + level / 2.0, df=n - 1)) * se
    return mean - half, mean + half, p


def paired_comparison(
    baseline: Mapping[int, float],
    other: Mapping[int, float],
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison | None:
    """`other` minus `baseline`, paired by seed (dicts seed -> metric value); None under two common seeds."""
    seeds = sorted(s for s in set(baseline) & set(other) if _finite(baseline[s]) and _finite(other[s]))
    if len(seeds) < 2:
        return None
    d = np.array([other[s] - baseline[s] for s in seeds], dtype=float)
    low, high, method = bootstrap_interval(d, level, n_resamples, seed)
    t_low, t_high, p = paired_t(d, level)
    return PairedComparison(len(seeds), float(d.mean()), low, high, method, t_low, t_high, p, level)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
