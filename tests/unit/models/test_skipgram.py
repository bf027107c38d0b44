"""Skip-gram's loss by hand, negatives from the right market, the co-visitation baseline by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.data.sessions.datamodule import SessionSpec
from framework.data.sessions.splits import Clicks
from framework.errors import ConfigError
from framework.models.embedding.baselines import Popularity, SessionCoVisitation
from framework.models.embedding.skipgram import SkipGram


def test_negative_sampling_loss_by_hand() -> None:
    model = SkipGram(SessionSpec(4, {}), embedding_dim=2)
    with torch.no_grad():
        model.vectors.table.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0]]))
        model.contexts.table.weight.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [1.0, 1.0]]))
    loss = model.loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]))
    # v_0 = (1, 0): positive 1 -> v'_1 = (2, 0): 2; negatives v'_2 = (0, 3): 0, v'_3 = (1, 1): 1
    expected = math.log1p(math.exp(-2)) + math.log1p(math.exp(0)) + math.log1p(math.exp(1))
    assert math.isclose(float(loss), expected, rel_tol=1e-6)


def test_served_similarities_are_cosines() -> None:
    model = SkipGram(SessionSpec(3, {}), embedding_dim=2, similarity="cosine")
    with torch.no_grad():
        model.vectors.table.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    sims = model.scorer(Clicks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))).scores(
        np.array([0])
    )
    assert torch.allclose(sims, torch.tensor([[1.0, 0.0, 1 / math.sqrt(2)]]), atol=1e-6)


def test_in_out_similarity_scores_v_against_context_vectors() -> None:
    model = SkipGram(SessionSpec(3, {}), embedding_dim=2)  # in_out: the default
    with torch.no_grad():
        model.vectors.table.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
        model.contexts.table.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0], [-1.0, 4.0]]))
    empty = Clicks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    # v_0 = (3, 0) against v'_0, v'_1, v'_2: 3, 1.5, -3; v_2 = (1, 1): 1, 2.5, 3 (not symmetric: s(0, 2) != s(2, 0))
    sims = model.scorer(empty).scores(np.array([0, 2]))
    assert torch.allclose(sims, torch.tensor([[3.0, 1.5, -3.0], [1.0, 2.5, 3.0]]))
    assert torch.equal(model.item_vectors(), model.contexts.table.weight)


def test_an_unknown_similarity_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must be one of cosine, in_out, got 'dot'"):
        SkipGram(SessionSpec(3, {}), embedding_dim=2, similarity="dot")


def test_covisitation_and_popularity_by_hand() -> None:
    # sessions {0, 1}, {0, 1, 2}, {2, 0}; item 3 never clicked
    train = Clicks(np.array([0, 0, 1, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 2, 2, 0]), np.array([-1, -1, -1]))
    spec = SessionSpec(4, {})
    sims = SessionCoVisitation(spec).scorer(train).scores(np.array([0]))
    # 0 is in 3 sessions, 1 in 2, 2 in 2: together(0,1) = 2, together(0,2) = 2
    expected = [3 / 3, 2 / math.sqrt(6), 2 / math.sqrt(6), 0.0]
    assert torch.allclose(sims[0], torch.tensor(expected), atol=1e-6)
    assert Popularity(spec).scorer(train).scores(np.array([1, 2])).tolist() == [[3.0, 2.0, 2.0, 0.0]] * 2


def test_market_negatives_come_from_the_center_listings_market() -> None:
    from types import SimpleNamespace

    from framework.tasks.session_embedding.module import SkipGramTask

    market = np.array([0, 0, 1, 1, 1, 2])
    data = SimpleNamespace(
        parts={"train": Clicks(np.array([0, 0]), np.array([0, 3]), np.array([-1]))},
        spec=SessionSpec(6, {"market": 3}),
        item_features={"market": market},
    )
    task = SkipGramTask(SkipGram(data.spec, 4), {}, data, negatives=1, market_negatives=50, optimizer=torch.optim.SGD)
    center = torch.tensor([0, 2, 5])
    drawn = task._negatives(center)
    assert drawn.shape == (3, 51)
    hard = drawn[:, 1:].numpy()
    assert (market[hard] == market[center.numpy()][:, None]).all()
    assert set(hard[1].tolist()) == {2, 3, 4}  # every listing of market 1 is drawn
    assert set(drawn[:, 0].tolist()) <= {0, 3}  # random negatives follow training clicks (popularity^0.75)
