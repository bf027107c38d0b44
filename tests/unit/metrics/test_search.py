"""Search metrics (MAP@R, graded nDCG, median rank) and the ranked lists they read, against references:
pytorch-metric-learning's AccuracyCalculator, torchmetrics' retrieval metrics, and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.metrics.search import GradedNDCGAtK, MAPAtR, MedianRank
from framework.metrics.topk import MRRAtK, PrecisionAtK, RecallAtK
from framework.tasks.contrastive_retrieval.evaluation import evaluate_scores, image_gains, search_lists


def test_lists_hold_gains_ideal_and_first_rank():
    scores = torch.tensor([[0.9, 0.1, 0.5, 0.3], [0.2, 0.8, 0.4, 0.6]])
    gains = torch.tensor([[0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    lists = search_lists(scores, gains, None, 3)
    assert lists.items.tolist() == [[0, 2, 3], [1, 3, 2]]
    assert lists.gains.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    assert lists.ideal_gains.tolist() == [[2.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert lists.first_rank.tolist() == [2, 2]
    assert lists.n_relevant.tolist() == [2, 1]


def test_map_at_r_by_hand():
    # R = 2; relevant at ranks 1 and 3: (1/1 + 0) / 2 — the one at rank 3 lies beyond R
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1]])
    gains = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    m = MAPAtR()
    m.update(search_lists(scores, gains, None, 4))
    assert m.compute().item() == pytest.approx(0.5)


def test_precision_at_1_and_map_at_r_equal_pytorch_metric_learning():
    pytest.importorskip("pytorch_metric_learning", reason="pytorch-metric-learning (the reference) is not installed")
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    rng = np.random.default_rng(0)
    labels = torch.from_numpy(rng.integers(0, 6, 120))
    x = torch.nn.functional.normalize(torch.randn(120, 8) + 1.5 * torch.nn.functional.one_hot(labels, 8).float(), dim=1)
    gains, exclude = image_gains(labels)
    ours = evaluate_scores({"p1": PrecisionAtK(1), "map_r": MAPAtR()}, x @ x.T, gains, exclude)
    calculator = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count")
    reference = calculator.get_accuracy(x, labels, x, labels, ref_includes_query=True)
    assert ours["p1"] == pytest.approx(reference["precision_at_1"], abs=1e-6)
    assert ours["map_r"] == pytest.approx(reference["mean_average_precision_at_r"], abs=1e-6)


def test_graded_ndcg_recall_mrr_equal_torchmetrics():
    from torchmetrics.retrieval import RetrievalMRR, RetrievalNormalizedDCG, RetrievalRecall

    rng = np.random.default_rng(1)
    scores = torch.from_numpy(rng.random((30, 40)))
    gains = torch.from_numpy(rng.choice([0, 0, 0, 0, 1, 2], size=(30, 40)).astype(np.float64))
    gains[:, 0] = 2  # every query has a relevant item
    ours = evaluate_scores({"ndcg": GradedNDCGAtK(10), "recall": RecallAtK(10), "mrr": MRRAtK(10)}, scores, gains, None)
    indexes = torch.arange(30)[:, None].expand(30, 40).flatten()
    preds = scores.flatten().float()
    # torchmetrics' nDCG gains are the target itself: 2^grade - 1 makes it Burges' (ranx's ndcg_burges)
    ndcg = RetrievalNormalizedDCG(top_k=10)(preds, (2.0 ** gains.flatten() - 1), indexes=indexes)
    recall = RetrievalRecall(top_k=10)(preds, gains.flatten() > 0, indexes=indexes)
    mrr = RetrievalMRR(top_k=10)(preds, gains.flatten() > 0, indexes=indexes)
    assert ours["ndcg"] == pytest.approx(ndcg.item(), abs=1e-5)
    assert ours["recall"] == pytest.approx(recall.item(), abs=1e-6)
    assert ours["mrr"] == pytest.approx(mrr.item(), abs=1e-6)


def test_median_rank_of_the_first_relevant_item():
    scores = torch.tensor([[0.9, 0.8, 0.1], [0.1, 0.2, 0.9], [0.5, 0.4, 0.3]])
    gains = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    m = MedianRank()
    m.update(search_lists(scores, gains, None, 3))
    assert m.compute().item() == 2.0  # ranks 1, 3, 2
    assert m.higher_is_better is False


def test_a_query_is_not_its_own_answer():
    x = torch.eye(4)
    gains, exclude = image_gains(torch.tensor([0, 0, 1, 1]))
    lists = search_lists(x @ x.T, gains, exclude, 3)
    assert (lists.items[:, 0] != torch.arange(4)).all()
    assert lists.n_relevant.tolist() == [1, 1, 1, 1]


def test_items_a_channel_did_not_find_are_neither_listed_nor_hits():
    inf = float("-inf")
    scores = torch.tensor([[inf, inf, inf, inf], [0.5, inf, inf, inf]])
    gains = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    lists = search_lists(scores, gains, None, 3)
    assert lists.items.tolist() == [[-1, -1, -1], [0, -1, -1]]
    assert not lists.hits.any() and (lists.gains == 0).all()
    # an unlisted relevant item ranks among the unlisted ones: after the listed, half of its ties before it
    assert lists.first_rank.tolist() == [2.5, 3.0]
