"""The sparse link-prediction heuristics give networkx's numbers, pair by pair and user by user."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from framework.data.graph.edges import clean
from framework.data.graph.splits import split_graph
from framework.data.graph.structure import GraphStructure
from framework.data.synthetic.social_graph import generate
from framework.errors import ConfigError
from framework.models.graph.heuristics import NeighbourhoodHeuristic, pair_scores, user_scores
from framework.models.graph.ppr import PersonalizedPageRank, personalized_pagerank

NETWORKX = {
    "jaccard": nx.jaccard_coefficient,
    "adamic_adar": nx.adamic_adar_index,
    "resource_allocation": nx.resource_allocation_index,
    "preferential_attachment": nx.preferential_attachment,
}


@pytest.fixture(scope="module")
def case():
    graph = clean(generate(n_users=400, mean_degree=8, seed=1))
    split = split_graph(graph, "temporal", [0.85, 0.05, 0.10], 300, 0)
    structure = GraphStructure.from_edges(split.graph.src, split.graph.dst, graph.n_nodes, torch.zeros(0))
    g = nx.Graph()
    g.add_nodes_from(range(graph.n_nodes))
    g.add_edges_from(zip(split.graph.src.tolist(), split.graph.dst.tolist(), strict=True))
    src = np.concatenate([split.held_out["test"].src, split.negatives["test"].src[:200]])
    dst = np.concatenate([split.held_out["test"].dst, split.negatives["test"].dst[:200]])
    return structure, g, src, dst


@pytest.mark.parametrize("measure", sorted(NETWORKX))
def test_pair_and_user_scores_match_networkx(case, measure: str) -> None:
    structure, g, src, dst = case
    pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
    reference = np.array([p for _, _, p in NETWORKX[measure](g, pairs)])
    assert reference.max() > 0  # the pairs exercise the measure
    np.testing.assert_allclose(pair_scores(structure, measure, src, dst), reference, rtol=1e-12, atol=1e-12)
    block = user_scores(structure, measure, src)
    np.testing.assert_allclose(block[np.arange(len(src)), dst], reference, rtol=1e-12, atol=1e-12)


def test_common_neighbours_match_networkx(case) -> None:
    structure, g, src, dst = case
    reference = np.array([len(list(nx.common_neighbors(g, u, v))) for u, v in zip(src, dst, strict=True)])
    assert np.array_equal(pair_scores(structure, "common_neighbours", src, dst), reference)


def test_personalized_pagerank_matches_networkx(case) -> None:
    structure, g, src, _ = case
    users = np.unique(src)[:3]
    ours = personalized_pagerank(structure, users, alpha=0.85, iterations=300)
    for row, user in enumerate(users):
        reference = nx.pagerank(g, alpha=0.85, personalization={int(user): 1.0}, tol=1e-13, max_iter=1000)
        np.testing.assert_allclose(ours[row], [reference[i] for i in range(structure.n_nodes)], atol=1e-9)


def test_scorers_agree_between_pairs_and_user_blocks(case) -> None:
    structure, _, src, dst = case
    spec = None  # heuristics read nothing from the data spec
    for model in (NeighbourhoodHeuristic(spec, "adamic_adar"), PersonalizedPageRank(spec, alpha=0.5, iterations=30)):
        scorer = model.scorer(structure)
        pairs = scorer.pairs(torch.from_numpy(src[:40]), torch.from_numpy(dst[:40]))
        block = scorer.users(torch.from_numpy(src[:40]))
        torch.testing.assert_close(block[torch.arange(40), torch.from_numpy(dst[:40])], pairs)


def test_pagerank_rejects_an_alpha_outside_0_1() -> None:
    with pytest.raises(ConfigError, match=r"model\.alpha must be in"):
        PersonalizedPageRank(None, alpha=1.0)
