"""Pair metrics against hand-computed values and torchmetrics / OGB definitions."""

from __future__ import annotations

import torch

from framework.metrics.pairs import HitsAtK, PairAUROC, PairAveragePrecision, ScoredPairs


def score(metric, positive, negative) -> float:
    metric.update(ScoredPairs(torch.tensor(positive), torch.tensor(negative)))
    return float(metric.compute())


def test_auc_counts_correctly_ordered_pairs() -> None:
    # positives 0.9, 0.4; negatives 0.5, 0.1: 3 of 4 (pos, neg) pairs ordered right
    assert abs(score(PairAUROC(), [0.9, 0.4], [0.5, 0.1]) - 0.75) < 1e-6


def test_average_precision_by_hand() -> None:
    # ranking 0.9(+) 0.5(-) 0.4(+) 0.1(-): precision at the positives 1 and 2/3 -> AP 5/6
    assert abs(score(PairAveragePrecision(), [0.9, 0.4], [0.5, 0.1]) - 5 / 6) < 1e-6


def test_hits_at_k_is_ogbs_definition() -> None:
    negatives = [0.95, 0.8, 0.6, 0.3, 0.2]
    # K=2: threshold is the 2nd best negative (0.8); positives strictly above it count
    assert score(HitsAtK(2), [0.9, 0.8, 0.7, 0.99], negatives) == 0.5
    assert score(HitsAtK(1), [0.9, 0.99], negatives) == 0.5
    assert score(HitsAtK(10), [0.0], negatives) == 1.0  # fewer negatives than K: every positive is a hit


def test_updates_accumulate_over_batches() -> None:
    metric = PairAUROC()
    metric.update(ScoredPairs(torch.tensor([0.9]), torch.tensor([0.5])))
    metric.update(ScoredPairs(torch.tensor([0.4]), torch.tensor([0.1])))
    assert abs(float(metric.compute()) - 0.75) < 1e-6
