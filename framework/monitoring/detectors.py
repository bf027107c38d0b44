"""Drift measures between a reference sample (what the deployed model was trained on) and a new window.

- `psi`: population stability index over the reference's quantile bins (continuous values) or its most
  frequent categories (ids); rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a real shift.
- `ks`: the two-sample Kolmogorov-Smirnov statistic D (scipy). With thousands of rows per window every
  p-value is tiny, so the decision reads D (the largest gap between the two CDFs), not p.
- `StreamDetector`: river's ADWIN or Page-Hinkley on a stream of values (chunk means of the log loss):
  a maintained implementation rather than a hand-written one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

EPS = 1e-4  # floor of a bin's share: an empty bin would make PSI infinite
TOP_CATEGORIES = 20  # ids compared one by one; the rest are pooled (thousands of rare ids: PSI would be noise)


def psi_from_shares(reference: np.ndarray, current: np.ndarray) -> float:
    ref, cur = np.maximum(reference, EPS), np.maximum(current, EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of a continuous value over `bins` quantile bins of the reference (ties merge bins)."""
    reference, current = np.asarray(reference, np.float64), np.asarray(current, np.float64)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current)
    return psi_from_shares(ref, cur)


def psi_categorical(reference: np.ndarray, current: np.ndarray, top: int = TOP_CATEGORIES) -> float:
    """PSI of an id field: the reference's `top` most frequent ids one by one, every other id pooled
    (so a flood of new ids shows as growth of the pool)."""
    values, counts = np.unique(reference, return_counts=True)
    kept = np.sort(values[np.argsort(-counts, kind="stable")[:top]])

    def shares(x: np.ndarray) -> np.ndarray:
        slot = np.minimum(np.searchsorted(kept, x), len(kept) - 1)
        slot = np.where(kept[slot] == x, slot, len(kept))  # not one of the kept ids: the pool
        return np.bincount(slot, minlength=len(kept) + 1) / len(x)

    return psi_from_shares(shares(reference), shares(current))


def ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(D, p-value) of the two-sample Kolmogorov-Smirnov test."""
    from scipy.stats import ks_2samp

    result = ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


@dataclass
class DriftScores:
    """Per-feature and prediction scores of one window against the reference, and the largest of them."""

    features: dict[str, float]
    predictions: float

    @property
    def worst_feature(self) -> tuple[str, float]:
        name = max(self.features, key=self.features.__getitem__)
        return name, self.features[name]

    @property
    def largest(self) -> float:
        return max(self.predictions, *self.features.values())


def score_window(
    method: Literal["psi", "ks"],
    reference: dict[str, np.ndarray],
    current: dict[str, np.ndarray],
    categorical: list[str],
) -> DriftScores:
    """Drift of every feature and of the predictions (`current["prediction"]`). Ids (categorical fields)
    are always compared by PSI over their frequent values: a CDF over hash values means nothing."""
    scores: dict[str, float] = {}
    for name, ref in reference.items():
        if name == "prediction":
            continue
        if name in categorical:
            scores[name] = psi_categorical(ref, current[name])
        else:
            scores[name] = psi(ref, current[name]) if method == "psi" else ks(ref, current[name])[0]
    pred_ref, pred_cur = reference["prediction"], current["prediction"]
    pred = psi(pred_ref, pred_cur) if method == "psi" else ks(pred_ref, pred_cur)[0]
    return DriftScores(scores, pred)


@dataclass
class StreamDetector:
    """river's ADWIN or Page-Hinkley over a stream of values; `update(values)` says whether it fired.

    `sensitivity` is ADWIN's `delta` (confidence: smaller fires less) or Page-Hinkley's `threshold`
    (lambda: larger fires less). Page-Hinkley watches increases only (a loss that grows)."""

    kind: Literal["adwin", "page_hinkley"]
    sensitivity: float
    _detector: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        from river import drift

        if self.kind == "adwin":
            self._detector = drift.ADWIN(delta=self.sensitivity)
        else:
            self._detector = drift.PageHinkley(threshold=self.sensitivity, mode="up")

    def update(self, values: np.ndarray) -> bool:
        fired = False
        for x in np.asarray(values, np.float64):
            self._detector.update(float(x))
            fired = fired or bool(self._detector.drift_detected)
        return fired


def chunk_means(values: np.ndarray, chunk: int) -> np.ndarray:
    """Means of consecutive chunks of `chunk` values (the last, partial chunk dropped unless it is all)."""
    values = np.asarray(values, np.float64)
    whole = len(values) // chunk
    if whole == 0:
        return values.mean(keepdims=True) if len(values) else values
    return values[: whole * chunk].reshape(whole, chunk).mean(axis=1)
