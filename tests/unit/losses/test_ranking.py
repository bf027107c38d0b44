"""Ranking losses against values computed by hand (and RankNet against a pair-by-pair loop)."""

import math

import pytest
import torch

from framework.losses.ranking import listwise_softmax, pairwise_logistic, pointwise_bce, ranking_loss

LOGITS = torch.tensor([[2.0, 0.0, -1.0, 5.0]])
LABELS = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
MASK = torch.tensor([[True, True, True, False]])  # the last entry is padding: its score must not count


def test_pointwise_is_bce_over_real_entries():
    expected = (-math.log(1 / (1 + math.exp(-2.0))) - math.log(0.5) - math.log(1 / (1 + math.exp(1.0)))) / 3
    assert pointwise_bce(LOGITS, LABELS, MASK).item() == pytest.approx(expected, rel=1e-6)


def test_pairwise_averages_log_sigmoid_over_ordered_pairs():
    # ordered pairs (relevant before irrelevant): (0, 1) and (2, 1); padding takes part in none
    expected = (math.log1p(math.exp(-(2.0 - 0.0))) + math.log1p(math.exp(-(-1.0 - 0.0)))) / 2
    assert pairwise_logistic(LOGITS, LABELS, MASK).item() == pytest.approx(expected, rel=1e-6)


def test_pairwise_matches_a_loop_on_random_graded_lists():
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(3, 6, generator=g), torch.randint(0, 3, (3, 6), generator=g).float()
    mask = torch.rand(3, 6, generator=g) > 0.2
    terms = [
        math.log1p(math.exp(-(logits[b, i] - logits[b, j]).item()))
        for b in range(3)
        for i in range(6)
        for j in range(6)
        if mask[b, i] and mask[b, j] and labels[b, i] > labels[b, j]
    ]
    assert pairwise_logistic(logits, labels, mask).item() == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_listwise_is_cross_entropy_against_the_normalised_labels():
    z = math.exp(2.0) + math.exp(0.0) + math.exp(-1.0)  # padding left out of the softmax
    expected = -0.5 * (math.log(math.exp(2.0) / z) + math.log(math.exp(-1.0) / z))
    assert listwise_softmax(LOGITS, LABELS, MASK).item() == pytest.approx(expected, rel=1e-6)


def test_lists_without_a_relevant_entry_are_skipped():
    logits = torch.cat([LOGITS, torch.tensor([[9.0, -9.0, 0.0, 0.0]])])
    labels = torch.cat([LABELS, torch.zeros(1, 4)])
    mask = torch.cat([MASK, torch.ones(1, 4, dtype=torch.bool)])
    assert listwise_softmax(logits, labels, mask).item() == pytest.approx(listwise_softmax(LOGITS, LABELS, MASK).item())
    empty = listwise_softmax(logits[1:], labels[1:], mask[1:])
    assert empty.item() == 0.0 and empty.requires_grad is False  # no graph needed: inputs need no grad


def test_each_loss_prefers_the_right_order():
    good, bad = torch.tensor([[3.0, -3.0, 2.0, 0.0]]), torch.tensor([[-3.0, 3.0, -2.0, 0.0]])
    for name in ("pointwise", "pairwise", "listwise"):
        loss = ranking_loss(name)
        assert loss(good, LABELS, MASK) < loss(bad, LABELS, MASK), name


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="pointwise, pairwise, listwise"):
        ranking_loss("lambda")


def test_lambdarank_matches_hand_computed_delta_ndcg_weights():
    from framework.losses.ranking import lambdarank

    # one list: the relevant entry 0 is ranked last (scores 0 < 1 < 2); entry ranks 3, 2, 1
    logits = torch.tensor([[0.0, 1.0, 2.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    # |delta NDCG| of swapping entry 0 (rank 3) with entry 1 (rank 2) or entry 2 (rank 1); ideal DCG = 1
    w01 = abs(1 / math.log2(4) - 1 / math.log2(3))
    w02 = abs(1 / math.log2(4) - 1 / math.log2(2))

    def softplus(x):
        return math.log1p(math.exp(x))

    expected = w01 * softplus(1.0) + w02 * softplus(2.0)
    assert lambdarank(logits, labels, mask).item() == pytest.approx(expected, rel=1e-6)


def test_lambdarank_ignores_padding_and_lists_without_order():
    from framework.losses.ranking import lambdarank

    logits = torch.tensor([[0.0, 1.0, 5.0], [3.0, 1.0, 0.0]], requires_grad=True)
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    loss = lambdarank(logits, labels, mask)
    only = lambdarank(logits[:1, :2].detach(), labels[:1, :2], mask[:1, :2])
    assert loss.item() == pytest.approx(only.item())  # padding and the list without a positive add nothing
    loss.backward()
    assert logits.grad[1].abs().sum() == 0 and logits.grad[0, 2] == 0
    assert logits.grad[0, 0] < 0 < logits.grad[0, 1]  # push the relevant entry up, the other down


def test_lambdarank_prefers_fixing_the_top_of_the_list():
    from framework.losses.ranking import lambdarank

    # the same score gap, swapped at the top vs at the bottom of a 6-entry list: the top pair weighs more
    labels = torch.tensor([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    logits = torch.tensor([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]], requires_grad=True)
    lambdarank(logits[:1], labels[:1], torch.ones(1, 6, dtype=torch.bool)).backward()
    top = logits.grad[0, 1].abs().item()
    logits.grad = None
    lambdarank(logits[1:], labels[1:], torch.ones(1, 6, dtype=torch.bool)).backward()
    bottom_pair = logits.grad[1, 5].abs().item() / 5  # five pairs share the bottom entry's gradient
    assert top > bottom_pair
