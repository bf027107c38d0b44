"""node2vec: walks follow edges with the p/q bias of the paper, pairs by hand, vectors find communities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure
from framework.errors import ConfigError
from framework.models.graph.node2vec import Node2Vec, random_walks, walk_pairs


def _structure(edges: list[tuple[int, int]], n: int) -> GraphStructure:
    src, dst = (np.array(side) for side in zip(*edges, strict=True))
    return GraphStructure.from_edges(src, dst, n, torch.zeros(0))


def test_walks_follow_edges_and_are_seeded() -> None:
    structure = _structure([(0, 1), (1, 2), (2, 3), (3, 0), (1, 3), (4, 5)], 6)
    starts = np.array([0, 1, 2, 3, 4, 5] * 20)
    walks = random_walks(structure.adj, starts, 12, 0.5, 2.0, np.random.default_rng(3))
    assert walks.shape == (120, 12) and (walks[:, 0] == starts).all()
    steps = structure.adj[walks[:, :-1].ravel(), walks[:, 1:].ravel()]
    assert np.asarray(steps).ravel().min() == 1.0  # every step is an edge
    again = random_walks(structure.adj, starts, 12, 0.5, 2.0, np.random.default_rng(3))
    np.testing.assert_array_equal(walks, again)


@pytest.mark.parametrize(("p", "q"), [(0.5, 2.0), (4.0, 0.25), (1.0, 1.0)])
def test_the_second_step_has_the_papers_bias(p: float, q: float) -> None:
    # t - c, c - x (x also a friend of t), c - y (y two steps from t): from c, having come from t,
    # the walk goes back to t with weight 1/p, to x with 1, to y with 1/q
    t, c, x, y = 0, 1, 2, 3
    structure = _structure([(t, c), (c, x), (c, y), (t, x)], 4)
    walks = random_walks(structure.adj, np.full(40_000, t), 3, p, q, np.random.default_rng(0))
    came = walks[walks[:, 1] == c]
    weights = np.array([1 / p, 1.0, 1 / q])
    expected = weights / weights.sum()
    observed = np.array([(came[:, 2] == node).mean() for node in (t, x, y)])
    np.testing.assert_allclose(observed, expected, atol=0.015)


def test_pairs_within_the_window_both_ways() -> None:
    center, context = walk_pairs(np.array([[0, 1, 2]]), window=1)
    assert sorted(zip(center.tolist(), context.tolist(), strict=True)) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    center, context = walk_pairs(np.array([[0, 1, 2]]), window=5)  # the window stops at the walk's end
    assert sorted(zip(center.tolist(), context.tolist(), strict=True)) == sorted(
        [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)]
    )


def _two_communities() -> GraphStructure:
    clique = [(i, j) for i in range(8) for j in range(i + 1, 8)]
    other = [(i + 8, j + 8) for i, j in clique]
    return _structure([*clique, *other, (0, 8)], 16)


def test_vectors_place_a_community_together_and_repeat_with_the_seed() -> None:
    structure = _two_communities()
    spec = GraphSpec(n_nodes=16, node_features={})
    model = Node2Vec(spec, embedding_dim=16, walks_per_node=20, walk_length=10, window=3, epochs=20, lr=0.05)
    torch.manual_seed(0)
    model.fit(structure, seed=7)
    assert model.history[-1] < model.history[0]  # the skip-gram loss falls
    scores = model.scorer(structure).users(torch.arange(16))
    same = scores[:8, :8][~torch.eye(8, dtype=torch.bool)].mean()
    across = scores[:8, 8:].mean()
    assert same > across + 0.3
    pairs = model.scorer(structure).pairs(torch.tensor([1, 1]), torch.tensor([2, 9]))
    torch.testing.assert_close(pairs, scores[1, [2, 9]])
    twin = Node2Vec(spec, embedding_dim=16, walks_per_node=20, walk_length=10, window=3, epochs=20, lr=0.05)
    torch.manual_seed(0)
    twin.fit(structure, seed=7)
    torch.testing.assert_close(twin.node_vectors(), model.node_vectors(), rtol=0, atol=0)


@pytest.mark.parametrize("bad", [{"p": 0.0}, {"q": -1.0}, {"walk_length": 1}, {"window": 0}, {"negatives": 0}])
def test_settings_out_of_range_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError, match=f"model.{next(iter(bad))}"):
        Node2Vec(GraphSpec(n_nodes=4, node_features={}), **bad)
