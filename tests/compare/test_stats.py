"""Statistics of the comparison report against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framework.compare.case_comparison import pareto_front
from framework.compare.stats import (
    _exact_bootstrap_means,
    bootstrap_interval,
    mean_std,
    paired_comparison,
    paired_t,
)


def test_mean_and_sample_std() -> None:
    # mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and std == pytest.approx(math.sqrt(5 / 3))
    assert math.isnan(mean_std([7.0])[1])


def test_exact_bootstrap_distribution_of_three_differences() -> None:
    # 27 equally likely resamples of (1, 2, 3); their sums 3..9 occur 1, 3, 6, 7, 6, 3, 1 times.
    means, weights = _exact_bootstrap_means(np.array([1.0, 2.0, 3.0]))
    by_mean: dict[float, float] = {}
    for m, w in zip(means, weights, strict=True):
        by_mean[round(m, 9)] = by_mean.get(round(m, 9), 0.0) + w
    expected = {3: 1, 4: 3, 5: 6, 6: 7, 7: 6, 8: 3, 9: 1}
    assert by_mean == pytest.approx({round(s / 3, 9): c / 27 for s, c in expected.items()})


def test_bootstrap_interval_by_hand() -> None:
    # P(mean = 1) = 1/27 = 0.037 >= 0.025: the 95% interval is the whole range [1, 3].
    assert bootstrap_interval([1.0, 2.0, 3.0], level=0.95) == (1.0, 3.0, "exact")
    # 80%: P(mean <= 1) = 1/27 < 0.1 <= P(mean <= 4/3) = 4/27, and symmetrically 8/3 at the top.
    low, high, _ = bootstrap_interval([1.0, 2.0, 3.0], level=0.80)
    assert (low, high) == pytest.approx((4 / 3, 8 / 3))
    # Two differences (0, 2): the resample means 0, 1, 2 have probabilities 1/4, 1/2, 1/4.
    assert bootstrap_interval([0.0, 2.0], level=0.50)[:2] == (0.0, 2.0)  # P(mean <= 0) = 0.25 >= 0.25
    assert bootstrap_interval([0.0, 2.0], level=0.40)[:2] == (1.0, 1.0)  # P(mean <= 0) = 0.25 < 0.3
    assert bootstrap_interval([0.5] * 4)[:2] == (0.5, 0.5)


def test_monte_carlo_bootstrap_is_seeded_and_agrees_with_the_exact_one() -> None:
    diffs = [0.3, -0.1, 0.4, 0.2, 0.0, 0.5]
    exact = bootstrap_interval(diffs, level=0.9)
    drawn = bootstrap_interval(diffs, level=0.9, n_resamples=200_000, max_exact=0)
    assert exact[2] == "exact" and drawn[2] == "monte-carlo"
    assert drawn[:2] == pytest.approx(exact[:2], abs=0.02)
    assert bootstrap_interval(diffs, max_exact=0, seed=3) == bootstrap_interval(diffs, max_exact=0, seed=3)
    assert bootstrap_interval(list(range(12)))[2] == "monte-carlo"  # C(23, 12) resamples: too many to list


def test_paired_t_by_hand() -> None:
    # d = (1, 2, 3): mean 2, sd 1, se 1/sqrt(3), t = 2 sqrt(3), 2 degrees of freedom, where the t
    # distribution has the closed form F(t) = 1/2 + t / (2 sqrt(t^2 + 2)).
    t = 2 * math.sqrt(3)
    p_hand = 1 - t / math.sqrt(t**2 + 2)  # = 0.0742
    a = 0.95  # 2 F(q) - 1 at the 97.5% quantile q, solved for q: q = a sqrt(2 / (1 - a^2)) = 4.3027
    half = a * math.sqrt(2 / (1 - a**2)) / math.sqrt(3)
    low, high, p = paired_t([1.0, 2.0, 3.0], level=0.95)
    assert p == pytest.approx(p_hand, rel=1e-9) and p == pytest.approx(0.07418, abs=1e-5)
    assert (low, high) == pytest.approx((2 - half, 2 + half), rel=1e-9)
    assert paired_t([2.0, 2.0, 2.0]) == (2.0, 2.0, 0.0)  # no spread: a sure difference
    assert paired_t([0.0, 0.0]) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        paired_t([1.0])


def test_paired_comparison_pairs_by_seed_and_needs_both_tests_to_agree() -> None:
    baseline = {1: 1.0, 2: 1.1, 3: 1.2, 4: 9.9}  # seed 4 has no partner
    other = {1: 0.9, 2: 0.95, 3: 1.15, 5: 0.0, 6: math.nan}
    c = paired_comparison(baseline, other)
    assert c is not None and c.n == 3
    # differences -0.1, -0.15, -0.05: the exact 95% bootstrap interval is their range, which excludes 0,
    # but t = -0.1 / (0.05 / sqrt(3)) = -2 sqrt(3) gives p = 0.0742 as above: not significant.
    assert c.mean_diff == pytest.approx(-0.1)
    assert (c.ci_low, c.ci_high) == pytest.approx((-0.15, -0.05))
    assert c.p_value == pytest.approx(0.07418, abs=1e-5)
    assert not c.significant
    tight = paired_comparison({1: 1.0, 2: 1.0, 3: 1.0}, {1: 0.9, 2: 0.91, 3: 0.89})
    assert tight is not None and tight.significant and tight.p_value < 0.01
    assert paired_comparison({1: 1.0, 2: 2.0}, {1: 1.5, 3: 2.0}) is None  # one common seed


def test_pareto_front_by_hand() -> None:
    # (cost, quality) with higher quality better: b is cheaper and better than c; d is the best but costly;
    # a is the cheapest. c is beaten by b; e ties b's cost with worse quality.
    points = [(1.0, 0.70), (2.0, 0.75), (3.0, 0.74), (9.0, 0.78), (2.0, 0.72)]
    assert pareto_front(points, higher_is_better=True) == [True, True, False, True, False]
    # lower is better (nce): the same points' order flips on quality
    assert pareto_front(points, higher_is_better=False) == [True, False, False, False, False]
    assert pareto_front([(1.0, math.nan), (2.0, 0.5)], higher_is_better=True) == [False, True]
