"""Item-item co-occurrence neighbours and the history similarity they give, against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from framework.data.interactions.cooccurrence import history_similarity, item_neighbours
from framework.data.interactions.table import UserItemSets, csr_rows

# users 0..2, items 0..3: item 0 and 1 share users 0 and 1; item 2 only user 2; item 3 nobody
USERS = np.array([0, 0, 1, 1, 1, 2, 0])
ITEMS = np.array([0, 1, 0, 1, 2, 2, 0])  # the last pair repeats (0, 0): it counts once


def test_cosine_of_co_occurrence():
    ids, weights = item_neighbours(USERS, ITEMS, 3, 4, top=3)
    # n_0 = n_1 = 2, n_2 = 2; c_01 = 2, c_12 = 1, c_02 = 1 -> cos_01 = 1, cos_02 = cos_12 = 1/2
    assert ids[0].tolist()[:2] == [1, 2] and weights[0].tolist()[:2] == pytest.approx([1.0, 0.5])
    assert ids[2].tolist()[:2] == [0, 1] and weights[2].tolist() == pytest.approx([0.5, 0.5, 0.0])  # tie broken by id
    assert weights[3].sum() == 0 and ids[3].tolist() == [3, 3, 3]  # an item nobody saw has no neighbours


def test_top_keeps_the_most_similar():
    ids, weights = item_neighbours(USERS, ITEMS, 3, 4, top=1)
    assert ids[:, 0].tolist() == [1, 0, 0, 3] and weights[:, 0].tolist() == pytest.approx([1.0, 1.0, 0.5, 0.0])


def test_history_similarity_sums_over_the_history():
    ids, weights = item_neighbours(USERS, ITEMS, 3, 4, top=3)
    history = UserItemSets(np.array([0, 2]), np.array([0, 2]), 3, 4)  # user 0 saw item 0, user 2 item 2
    users = torch.tensor([0, 2])
    row, items = csr_rows(history.indptr, history.indices, users)
    got = history_similarity(ids, weights, row, items, 2, torch.tensor([[1, 2, 3], [0, 1, 3]]))
    assert got.flatten().tolist() == pytest.approx([1.0, 0.5, 0.0, 0.5, 0.5, 0.0])


def test_csr_rows_of_empty_and_repeated_rows():
    sets = UserItemSets(np.array([1, 1, 2]), np.array([3, 0, 2]), 4, 5)
    position, column = csr_rows(sets.indptr, sets.indices, torch.tensor([0, 1, 1, 3]))
    assert position.tolist() == [1, 1, 2, 2] and column.tolist() == [0, 3, 0, 3]
    position, column = csr_rows(sets.indptr, sets.indices, torch.tensor([0, 3]))
    assert position.numel() == 0 and column.numel() == 0
    assert math.isclose(float(sets.counts(torch.tensor([1]))[0]), 2.0)
