"""Negative downsampling with recalibration (He et al. 2014, "Practical lessons from predicting clicks on
ads at Facebook", section 6): train on every positive and a seeded random fraction w of the negatives
(`dataset.negative_rate`), then correct the predictions for the negatives left out.

Training on the sample is faster (clicks are rare: most rows are negatives) but the model learns the
sample's click rate, which is higher than the data's. Each kept negative stands for 1/w negatives of
the data, so the odds the model learns are the data's odds divided by w; the data's probability is

    q = p / (p + (1 - p) / w)        equivalently     logit(q) = logit(p) + log(w)

a constant shift of the logits, which `CTRTask` adds to every probability it evaluates or serves
(validation, test and serving see the untouched data). The training loss stays on the raw logits.

    >>> rows = kept_rows(labels, rate=0.1, seed=1)     # sorted indices: all positives, ~10% of negatives
    >>> recalibrate(0.5, 0.1)                          # 0.5 / (0.5 + 0.5 / 0.1) = 0.0909...
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

_STREAM = 0x5EED_D0  # mixed into the seed: the draw is independent of the run's other seeded draws

P = TypeVar("P")  # a float, a numpy array or a torch tensor of probabilities


def check_rate(rate: float) -> float:
    if not 0 < rate <= 1:
        raise ValueError(f"negative_rate must be in (0, 1] (the fraction of negative rows kept), got {rate}")
    return float(rate)


def kept_rows(labels: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Sorted indices (int64) of the rows kept: every positive (label > 0.5) and each negative with
    probability `rate`, drawn from `seed` alone (one uniform number per row, so the kept set does not
    depend on the batch size or on anything but the labels, the rate and the seed)."""
    labels = np.asarray(labels)
    if check_rate(rate) == 1.0:
        return np.arange(len(labels), dtype=np.int64)
    draws = np.random.default_rng([int(seed), _STREAM]).random(len(labels))
    return np.flatnonzero((labels > 0.5) | (draws < rate)).astype(np.int64)


def logit_shift(rate: float) -> float:
    """What recalibration adds to a logit: log(w) (0 without downsampling)."""
    return math.log(check_rate(rate))


def recalibrate(p: P, rate: float) -> P:
    """The data's probability from a probability `p` predicted by a model trained on the sample."""
    return p / (p + (1 - p) / check_rate(rate))


def downsample(labels: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The training rows to iterate over (None: all of them) and what run.json records about the sample:
    the rate, the rows, positives and negatives kept, the logit shift, and the CTR before and after."""
    labels = np.asarray(labels)
    positives = int((labels > 0.5).sum())
    rows = None if check_rate(rate) == 1.0 else kept_rows(labels, rate, seed)
    kept = len(labels) if rows is None else len(rows)

    def ctr(clicks: int, n: int) -> float | None:
        return round(clicks / n, 6) if n else None

    info = {
        "negative_rate": rate,
        "rows": len(labels),
        "rows_kept": kept,
        "positives": positives,
        "negatives": len(labels) - positives,
        "negatives_kept": kept - positives,
        "logit_shift": logit_shift(rate),
        "ctr": ctr(positives, len(labels)),
        "ctr_kept": ctr(positives, kept),
    }
    return rows, info
