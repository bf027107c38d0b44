"""Top-k metrics: hand-computed values, agreement with torchmetrics' retrieval metrics, batch-invariance."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.retrieval import (
    RetrievalHitRate,
    RetrievalMAP,
    RetrievalMRR,
    RetrievalNormalizedDCG,
    RetrievalPrecision,
    RetrievalRecall,
)

from framework.metrics.topk import (
    CatalogCoverageAtK,
    DiversityAtK,
    HitRateAtK,
    MAPAtK,
    MRRAtK,
    NDCGAtK,
    PrecisionAtK,
    RankedLists,
    RecallAtK,
    rank_top_k,
)


def value(metric, lists: RankedLists) -> float:
    metric.update(lists)
    return float(metric.compute())


# Two users, lists of 4. User 0: hits at ranks 1 and 3, 3 relevant items in total. User 1: hit at rank 2,
# 1 relevant. User 2 has no relevant item: left out of the accuracy means.
HAND = RankedLists(
    items=torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [0, 4, 8, 9]]),
    hits=torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool),
    n_relevant=torch.tensor([3, 1, 0]),
    catalog_size=20,
)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (RecallAtK(4), (2 / 3 + 1) / 2),
        (RecallAtK(2), (1 / 3 + 1) / 2),
        (PrecisionAtK(4), (2 / 4 + 1 / 4) / 2),
        (HitRateAtK(1), (1 + 0) / 2),
        (MRRAtK(4), (1 + 1 / 2) / 2),
        (MRRAtK(1), (1 + 0) / 2),
        # DCG_0 = 1 + 1/log2(4) = 1.5, IDCG_0 (3 relevant) = 1 + 1/log2(3) + 1/log2(4); DCG_1 = 1/log2(3), IDCG_1 = 1
        (NDCGAtK(4), (1.5 / (1 + 1 / math.log2(3) + 0.5) + 1 / math.log2(3)) / 2),
        # AP@4: user 0 (P@1 + P@3) / min(3, 4) = (1 + 2/3) / 3; user 1: P@2 / 1 = 1/2
        (MAPAtK(4), ((1 + 2 / 3) / 3 + 0.5) / 2),
        (CatalogCoverageAtK(4), 10 / 20),  # items 0-9 appear in some list
        (CatalogCoverageAtK(1), 2 / 20),  # items 0 and 4
    ],
)
def test_hand_computed_values(metric, expected: float) -> None:
    assert value(metric, HAND) == pytest.approx(expected, abs=1e-6)


def test_diversity_is_the_mean_pairwise_cosine_distance() -> None:
    vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    lists = RankedLists(
        torch.tensor([[0, 1, 2], [0, 3, 3]]), torch.zeros(2, 3, dtype=torch.bool), torch.tensor([1, 1]), 4, vectors
    )
    c = 1 / math.sqrt(2)  # cos(45°)
    first = 1 - (0 + c + c) / 3  # pairs (0,1) (0,2) (1,2)
    second = 1 - 1.0  # identical directions
    assert value(DiversityAtK(3), lists) == pytest.approx((first + second) / 2, abs=1e-6)


def random_case(n_users: int = 40, n_items: int = 60, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(n_users, n_items, generator=g) + 0.01  # positive: torchmetrics treats preds <= 0 as misses
    exclude = torch.rand(n_users, n_items, generator=g) < 0.2
    relevant = (torch.rand(n_users, n_items, generator=g) < 0.1) & ~exclude
    relevant[0] = False  # a user without relevant items: skipped by both
    return scores, exclude, relevant


@pytest.mark.parametrize("k", [1, 5, 20])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (RecallAtK, RetrievalRecall),
        (PrecisionAtK, RetrievalPrecision),
        (HitRateAtK, RetrievalHitRate),
        (MRRAtK, RetrievalMRR),
        (NDCGAtK, RetrievalNormalizedDCG),
    ],
)
def test_full_ranking_matches_torchmetrics(ours, theirs, k: int) -> None:
    scores, exclude, relevant = random_case()
    lists = rank_top_k(scores, exclude, relevant, k, None)
    reference = theirs(top_k=k, empty_target_action="skip")
    keep = ~exclude  # full ranking without the excluded items
    users = torch.arange(len(scores))[:, None].expand_as(scores)
    reference.update(scores[keep], relevant[keep], indexes=users[keep])
    assert value(ours(k), lists) == pytest.approx(float(reference.compute()), abs=1e-5)


def test_map_matches_torchmetrics_at_full_depth() -> None:
    # At full depth AP divides by all relevant items in both definitions (at a cut-off RecBole's MAP@k
    # divides by min(relevant, k), torchmetrics' by the hits in the top k).
    scores, exclude, relevant = random_case()
    n_items = scores.shape[1]
    lists = rank_top_k(scores, exclude, relevant, n_items, None)
    reference = RetrievalMAP(empty_target_action="skip")
    keep = ~exclude
    users = torch.arange(len(scores))[:, None].expand_as(scores)
    reference.update(scores[keep], relevant[keep], indexes=users[keep])
    assert value(MAPAtK(n_items), lists) == pytest.approx(float(reference.compute()), abs=1e-5)


@pytest.mark.parametrize("metric", [RecallAtK(5), NDCGAtK(5), MAPAtK(5), CatalogCoverageAtK(5), DiversityAtK(5)])
def test_batches_give_the_same_value_as_one_pass(metric) -> None:
    scores, exclude, relevant = random_case(seed=3)
    vectors = torch.rand(scores.shape[1], 4)
    whole = value(metric.clone(), rank_top_k(scores, exclude, relevant, 5, vectors))
    for s in range(0, len(scores), 7):
        metric.update(rank_top_k(scores[s : s + 7], exclude[s : s + 7], relevant[s : s + 7], 5, vectors))
    assert float(metric.compute()) == pytest.approx(whole, abs=1e-6)


def test_excluded_items_are_never_recommended() -> None:
    scores, exclude, relevant = random_case()
    lists = rank_top_k(scores, exclude, relevant, 10, None)
    assert not exclude.gather(1, lists.items).any()


def test_lists_shorter_than_k_are_an_error() -> None:
    with pytest.raises(ValueError, match="needs lists of at least 10"):
        RecallAtK(10).update(HAND)
