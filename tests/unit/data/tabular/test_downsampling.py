"""Negative downsampling: which rows are kept, and the recalibration of the probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.data.tabular.downsampling import downsample, kept_rows, logit_shift, recalibrate


def labels(n: int = 100_000, ctr: float = 0.1, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < ctr).astype(np.float32)


def test_rate_one_keeps_every_row() -> None:
    y = labels(1000)
    assert np.array_equal(kept_rows(y, 1.0, seed=3), np.arange(1000))
    rows, info = downsample(y, 1.0, seed=3)
    assert rows is None and info["rows_kept"] == 1000 and info["logit_shift"] == 0.0


def test_every_positive_and_about_w_of_the_negatives_are_kept() -> None:
    y = labels()
    rate = 0.25
    rows = kept_rows(y, rate, seed=7)
    assert rows.dtype == np.int64 and np.all(np.diff(rows) > 0)  # sorted, no repeats
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    assert np.isin(positives, rows).all()
    kept = np.isin(negatives, rows).sum()
    sd = math.sqrt(len(negatives) * rate * (1 - rate))  # binomial: ~130 rows of ~22,500
    assert abs(kept - rate * len(negatives)) < 5 * sd


def test_the_kept_set_depends_on_the_seed_only() -> None:
    y = labels(20_000)
    assert np.array_equal(kept_rows(y, 0.1, seed=1), kept_rows(y, 0.1, seed=1))
    assert not np.array_equal(kept_rows(y, 0.1, seed=1), kept_rows(y, 0.1, seed=2))
    # the same seed with a smaller rate keeps a subset (one uniform draw per row)
    assert np.isin(kept_rows(y, 0.05, seed=1), kept_rows(y, 0.1, seed=1)).all()


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_a_rate_outside_zero_one_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="negative_rate must be in"):
        kept_rows(labels(100), rate, seed=0)


def test_the_record_of_the_sample() -> None:
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0] * 1000, dtype=np.float32)
    rows, info = downsample(y, 0.5, seed=0)
    assert rows is not None
    assert info["rows"] == 10_000 and info["positives"] == 2000 and info["negatives"] == 8000
    assert info["rows_kept"] == len(rows) == 2000 + info["negatives_kept"]
    assert info["ctr"] == 0.2 and info["ctr_kept"] == pytest.approx(2000 / len(rows), abs=1e-6)
    assert info["logit_shift"] == pytest.approx(math.log(0.5))


def test_recalibration_against_hand_computed_values() -> None:
    assert recalibrate(0.5, 0.1) == pytest.approx(0.5 / (0.5 + 5.0))  # 0.0909...
    assert recalibrate(0.5, 0.1) == pytest.approx(1 / 11)
    assert recalibrate(0.2, 0.5) == pytest.approx(0.2 / (0.2 + 1.6))  # 0.111...
    assert recalibrate(0.3, 1.0) == pytest.approx(0.3)  # no downsampling: unchanged
    assert recalibrate(0.0, 0.1) == 0.0 and recalibrate(1.0, 0.1) == 1.0


def test_the_logit_shift_is_the_recalibration_formula() -> None:
    p = torch.linspace(0.001, 0.999, 201, dtype=torch.float64)
    for rate in (0.025, 0.1, 0.25, 0.5, 1.0):
        shifted = torch.sigmoid(torch.logit(p) + logit_shift(rate))
        torch.testing.assert_close(shifted, recalibrate(p, rate))


def test_recalibration_undoes_the_samples_click_rate() -> None:
    # the sample's CTR, recalibrated, is the data's: c' = c / (c + (1 - c) w)  ->  q(c') = c
    c, w = 0.12, 0.25
    sample_ctr = c / (c + (1 - c) * w)
    assert recalibrate(sample_ctr, w) == pytest.approx(c)
