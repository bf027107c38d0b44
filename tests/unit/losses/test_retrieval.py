"""Retrieval losses and negatives: log-Q correction, accidental hits, BPR negatives outside the user's history."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from framework.data.interactions.table import UserItemSets
from framework.losses.negatives import NegativeSampler
from framework.losses.retrieval import bpr, in_batch_softmax, sampled_softmax


def test_in_batch_softmax_with_log_q_by_hand() -> None:
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[1.0, 1.0], [0.5, 2.0]])
    items = torch.tensor([0, 1])
    log_q = torch.log(torch.tensor([0.75, 0.25]))
    loss = in_batch_softmax(u, v, items, log_q, temperature=0.5)
    logits = (u @ v.T) / 0.5 - log_q[None, :]
    expected = -(F.log_softmax(logits, 1)[0, 0] + F.log_softmax(logits, 1)[1, 1]) / 2
    assert float(loss) == pytest.approx(float(expected), abs=1e-6)


def test_in_batch_softmax_masks_the_same_item_in_other_rows() -> None:
    u, v = torch.randn(3, 4), torch.randn(3, 4)
    items = torch.tensor([7, 7, 2])  # rows 0 and 1 share their positive: not each other's negative
    loss = in_batch_softmax(u, v, items, None, 1.0)
    logits = u @ v.T
    row0 = -F.log_softmax(torch.stack([logits[0, 0], logits[0, 2]]), 0)[0]
    row1 = -F.log_softmax(torch.stack([logits[1, 1], logits[1, 2]]), 0)[0]
    row2 = -F.log_softmax(logits[2], 0)[2]
    assert float(loss) == pytest.approx(float((row0 + row1 + row2) / 3), abs=1e-5)


def test_sampled_softmax_ignores_a_negative_equal_to_the_positive() -> None:
    u, v = torch.randn(2, 4), torch.randn(2, 4)
    items, negatives = torch.tensor([1, 2]), torch.tensor([1, 5])
    v_neg = torch.randn(2, 4)
    loss = sampled_softmax(u, v, items, v_neg, negatives, None, 1.0)
    pos = (u * v).sum(1)
    neg = u @ v_neg.T
    row0 = -F.log_softmax(torch.stack([pos[0], neg[0, 1]]), 0)[0]  # negative item 1 is row 0's positive
    row1 = -F.log_softmax(torch.stack([pos[1], neg[1, 0], neg[1, 1]]), 0)[0]
    assert float(loss) == pytest.approx(float((row0 + row1) / 2), abs=1e-5)


def test_bpr_by_hand() -> None:
    u, v, w = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert float(bpr(u, v, w)) == pytest.approx(-math.log(1 / (1 + math.exp(-(1.0 - 2.0)))), abs=1e-6)


def test_samplers() -> None:
    counts = torch.tensor([90, 9, 1, *[0] * 97])
    history = UserItemSets(np.zeros(40, np.int64), np.arange(40), 2, 100)  # user 0 saw items 0-39
    torch.manual_seed(0)
    uniform = NegativeSampler("uniform", counts, history)
    negatives = uniform.per_positive(torch.zeros(2000, dtype=torch.long), torch.zeros(2000, dtype=torch.long))
    assert (negatives >= 40).all()  # never an item user 0 has seen
    popular = NegativeSampler("popularity", counts, history)
    draws = popular.draw(20_000)
    assert abs(float((draws == 0).float().mean()) - 91 / 200) < 0.02  # (count + 1) / sum
    in_batch = NegativeSampler("in_batch", counts, history)
    assert float(in_batch.log_q[0].exp()) == pytest.approx(0.9)  # an item's share of the training pairs
    items = torch.arange(6)
    assert sorted(in_batch.per_positive(torch.zeros(6, dtype=torch.long), items).tolist()) == items.tolist()
