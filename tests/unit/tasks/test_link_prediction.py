"""The link_prediction kind's pieces: per-user lists over candidates, the training losses, the config checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.data.graph.splits import Pairs
from framework.data.graph.structure import GraphStructure
from framework.metrics.topk import MAPAtK, RecallAtK
from framework.tasks.link_prediction.evaluation import candidate_statistics, evaluate, ranked_lists
from framework.tasks.link_prediction.module import link_loss
from tests.configs.test_configs import compose_run


class TableScorer:
    """Scores from a fixed [n, n] table (a stand-in model whose scores the test knows)."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = torch.from_numpy(table)

    def pairs(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.table[src, dst]

    def users(self, users: torch.Tensor) -> torch.Tensor:
        return self.table[users]


@pytest.fixture
def star():
    """Friends 0-1, 0-2, 1-3, 2-4; node 5 alone. FoF(0) = {3, 4}; everything else of 0: 5."""
    structure = GraphStructure.from_edges(np.array([0, 0, 1, 2]), np.array([1, 2, 3, 4]), 6, torch.zeros(0))
    table = np.zeros((6, 6))
    table[0] = [9, 9, 9, 1, 2, 5]  # 0 prefers 5 (not a friend of a friend), then 4, then 3
    return structure, TableScorer(table)


def test_lists_rank_only_candidates_and_skip_friends(star) -> None:
    structure, scorer = star
    held_out = Pairs(np.array([0]), np.array([3]))  # 0 befriends 3
    fof = ranked_lists(scorer, structure, held_out, "friends_of_friends", depth=3)
    assert fof.items[0].tolist() == [4, 3, -1] and fof.hits[0].tolist() == [False, True, False]
    every = ranked_lists(scorer, structure, held_out, "all", depth=3)
    assert every.items[0].tolist() == [5, 4, 3]  # friends 1, 2 and the user never appear
    assert ranked_lists(scorer, structure, held_out, "all", depth=3, known=Pairs(np.array([0]), np.array([5]))).items[
        0
    ].tolist()[:2] == [4, 3]  # a friendship already revealed (validation) is no candidate at test


def test_recall_and_map_by_hand(star) -> None:
    structure, scorer = star
    held_out = Pairs(np.array([0, 0]), np.array([3, 5]))  # 0 befriends 3 and 5; 3 and 5 each befriend 0
    metrics = {"recall@2": RecallAtK(2), "map@2": MAPAtK(2)}
    values = evaluate(metrics, scorer, structure, held_out, Pairs(np.array([1]), np.array([4])), "friends_of_friends")
    # lists: user 0 -> [4, 3] (5 is not FoF: missed), recall 1/2, AP (1/2)/2; users 3 and 5 score all-zero rows
    # user 3: FoF {0, 2}? 3's friend is 1, whose friends are 0 and 3: FoF(3) = {0} -> hit, recall 1, AP 1
    # user 5: no friends, no candidates -> recall 0
    assert math.isclose(values["recall@2"], (0.5 + 1 + 0) / 3, rel_tol=1e-6)
    assert math.isclose(values["map@2"], (0.25 + 1 + 0) / 3, rel_tol=1e-6)


def test_candidate_statistics_by_hand(star) -> None:
    structure, _ = star
    stats = candidate_statistics(structure, Pairs(np.array([0, 0]), np.array([3, 5])))
    assert stats["fof_recall"] == 0.5  # 0-3 is two hops apart, 0-5 is not
    # users 0, 3, 5: FoF sizes 2, 1, 0; non-friends 3, 4, 5
    assert math.isclose(stats["fof_per_user"], 1.0) and math.isclose(stats["all_per_user"], 4.0)


def test_losses_by_hand() -> None:
    positive, negative = torch.tensor([2.0]), torch.tensor([[0.0, 1.0]])
    bce = -(math.log(1 / (1 + math.exp(-2))) + math.log(0.5) + math.log(1 - 1 / (1 + math.exp(-1)))) / 3
    assert math.isclose(float(link_loss("pointwise", positive, negative)), bce, rel_tol=1e-6)
    bpr = (math.log1p(math.exp(-2)) + math.log1p(math.exp(-1))) / 2
    assert math.isclose(float(link_loss("pairwise", positive, negative)), bpr, rel_tol=1e-6)
    softmax = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(1)))
    assert math.isclose(float(link_loss("listwise", positive, negative)), softmax, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("link_training.target_share=1.5", "'link_training.target_share' must be in \\(0, 1\\)"),
        ("link_training.hard_negatives=2", "'link_training.hard_negatives' must be in \\[0, 1\\]"),
        ("model.decoder=dot", "'model.structural' needs model.decoder=hadamard_mlp"),
        ("candidates.strategy=everyone", "candidates.strategy"),
        ("dataset.eval_negatives=0", "'dataset.eval_negatives' must be a positive integer"),
        ("hardware=ddp_cpu", "full batch\\), on one device"),
    ],
)
def test_bad_settings_are_config_errors(override: str, message: str) -> None:
    from framework.errors import ConfigError
    from framework.validation import validate

    with pytest.raises(ConfigError, match=message):
        validate(compose_run("case=people_you_may_know", override))
