"""The social-graph generator's planted structure, cleaning, and the random / temporal edge splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.data.graph.edges import EdgeList, clean, pair_keys
from framework.data.graph.splits import split_graph
from framework.data.graph.structure import GraphStructure
from framework.data.synthetic.social_graph import generate
from framework.errors import DataError
from framework.models.graph.heuristics import pair_scores


@pytest.fixture(scope="module")
def graph():
    return clean(generate(n_users=600, mean_degree=10, seed=3))


def test_the_generator_is_seeded_and_sized(graph) -> None:
    again = clean(generate(n_users=600, mean_degree=10, seed=3))
    assert np.array_equal(graph.src, again.src) and np.array_equal(graph.time, again.time)
    assert len(graph.src) == 3000 and graph.dropped == {"self_loops": 0, "duplicate_edges": 0}
    assert set(graph.node_features) == {"city", "school", "workplace"}
    raw = generate(n_users=600, mean_degree=10, seed=3)
    assert np.all(np.diff(raw.time) >= 0) and raw.time[0] == 0.0 and raw.time[-1] <= 1.0  # in formation order


def test_friends_share_context_and_close_triangles(graph) -> None:
    school, city = graph.node_features["school"], graph.node_features["city"]
    same_school = (school[graph.src] == school[graph.dst]).mean()
    random_pairs = np.random.default_rng(0).integers(graph.n_nodes, size=(2, 5000))
    assert same_school > 5 * (school[random_pairs[0]] == school[random_pairs[1]]).mean()
    assert (city[graph.src] == city[graph.dst]).mean() > 0.7  # random_weight 0.1 crosses cities
    # new friendships close triangles: most later edges already had a common friend before they formed
    split = split_graph(graph, "temporal", [0.85, 0.05, 0.10], 100, 0)
    structure = GraphStructure.from_edges(split.graph.src, split.graph.dst, graph.n_nodes, torch.zeros(0))
    later = split.held_out["test"]
    assert (pair_scores(structure, "common_neighbours", later.src, later.dst) > 0).mean() > 0.5


def test_temporal_split_holds_out_the_latest_edges(graph) -> None:
    split = split_graph(graph, "temporal", [0.8, 0.1, 0.1], 500, 0)
    assert [len(split.graph), len(split.held_out["valid"]), len(split.held_out["test"])] == [2400, 300, 300]
    assert split.graph_time.max() <= graph.time[2400]
    keys = {name: set(pair_keys(p.src, p.dst, graph.n_nodes).tolist()) for name, p in split.held_out.items()}
    graph_keys = set(pair_keys(split.graph.src, split.graph.dst, graph.n_nodes).tolist())
    assert not keys["valid"] & graph_keys and not keys["test"] & graph_keys and not keys["valid"] & keys["test"]


def test_random_split_is_seeded_and_negatives_are_non_edges(graph) -> None:
    a, b = (
        split_graph(graph, "random", [0.85, 0.05, 0.10], 500, 7),
        split_graph(graph, "random", [0.85, 0.05, 0.1], 500, 7),
    )
    assert np.array_equal(a.held_out["test"].src, b.held_out["test"].src)
    all_edges = set(pair_keys(graph.src, graph.dst, graph.n_nodes).tolist())
    negatives = a.negatives["test"]
    keys = pair_keys(negatives.src, negatives.dst, graph.n_nodes)
    assert len(negatives) == 500 and len(set(keys.tolist())) == 500
    assert not set(keys.tolist()) & all_edges and np.all(negatives.src != negatives.dst)


def test_temporal_split_without_times_says_what_to_do() -> None:
    graph = clean(EdgeList(np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4])))
    with pytest.raises(DataError, match="split_strategy=random"):
        split_graph(graph, "temporal", [0.5, 0.25, 0.25], 2, 0)


def test_a_split_that_leaves_nothing_out_is_an_error() -> None:
    graph = clean(EdgeList(np.array([0, 1]), np.array([1, 2])))
    with pytest.raises(DataError, match="leaves no edges in"):
        split_graph(graph, "random", [0.8, 0.1, 0.1], 2, 0)


def test_friends_of_friends_excludes_the_user_and_their_friends() -> None:
    # path 0-1-2-3 and triangle 0-1-4: FoF(0) = {2}; FoF(2) = {0, 4}
    structure = GraphStructure.from_edges(np.array([0, 1, 2, 0, 1]), np.array([1, 2, 3, 4, 4]), 5, torch.zeros(0))
    fof = structure.friends_of_friends(np.array([0, 2])).toarray() > 0
    assert np.flatnonzero(fof[0]).tolist() == [2] and np.flatnonzero(fof[1]).tolist() == [0, 4]
