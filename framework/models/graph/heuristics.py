"""Neighbourhood heuristics of link prediction, as sparse-matrix products that score many pairs at once.

With A the adjacency and d the degrees (Liben-Nowell & Kleinberg 2007; Zhou et al. 2009):
    common neighbours    CN(u, v) = |N(u) ∩ N(v)|                      = (A A)[u, v]
    Jaccard              CN / |N(u) ∪ N(v)| = CN / (d_u + d_v - CN)    (0 when both have no friends)
    Adamic-Adar          sum over w in N(u) ∩ N(v) of 1 / log d_w      = (A diag(1/log d) A)[u, v]
    resource allocation  sum over w in N(u) ∩ N(v) of 1 / d_w          = (A diag(1/d) A)[u, v]
    preferential attach. d_u * d_v
networkx's `common_neighbors`, `jaccard_coefficient`, `adamic_adar_index`, `resource_allocation_index`
and `preferential_attachment` give the same numbers pair by pair (tests/unit/models/test_heuristics.py).
Personalized PageRank lives in `ppr.py`. No parameters: the recipe evaluates them without training.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure

Measure = Literal["common_neighbours", "jaccard", "adamic_adar", "resource_allocation", "preferential_attachment"]


def _weights(structure: GraphStructure, measure: str) -> Any:
    """diag(w): the weight each common neighbour w contributes (1, 1/log d_w or 1/d_w)."""
    d = structure.degree
    with np.errstate(divide="ignore"):
        if measure == "adamic_adar":
            w = np.where(d > 1, 1.0 / np.log(np.maximum(d, 2.0)), 0.0)  # a common neighbour has degree >= 2
        elif measure == "resource_allocation":
            w = np.where(d > 0, 1.0 / np.maximum(d, 1.0), 0.0)
        else:
            w = np.ones_like(d)
    return sp.diags(w)


def pair_scores(structure: GraphStructure, measure: str, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """float64 [P]: the measure of each pair (src[i], dst[i])."""
    d = structure.degree
    if measure == "preferential_attachment":
        return d[src] * d[dst]
    left = structure.adj[src] @ _weights(structure, measure)  # u's friends, each with its weight
    common = np.asarray(left.multiply(structure.adj[dst]).sum(axis=1)).ravel()
    if measure == "jaccard":
        union = d[src] + d[dst] - common
        return np.where(union > 0, common / np.maximum(union, 1.0), 0.0)
    return common


def user_scores(structure: GraphStructure, measure: str, users: np.ndarray) -> np.ndarray:
    """float64 [len(users), n]: the measure between each user and every node."""
    d = structure.degree
    if measure == "preferential_attachment":
        return np.outer(d[users], d)
    block = (structure.adj[users] @ _weights(structure, measure) @ structure.adj).toarray()
    if measure == "jaccard":
        union = d[users][:, None] + d[None, :] - block
        return np.where(union > 0, block / np.maximum(union, 1.0), 0.0)
    return block


class HeuristicScorer:
    def __init__(self, structure: GraphStructure, measure: str) -> None:
        self.structure, self.measure = structure, measure

    def pairs(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(pair_scores(self.structure, self.measure, src.numpy(), dst.numpy()))

    def users(self, users: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(user_scores(self.structure, self.measure, users.numpy()))


class NeighbourhoodHeuristic(nn.Module):
    """A classic link-prediction score of the graph (no parameters, no training).

    scorer = NeighbourhoodHeuristic(spec, measure="resource_allocation").scorer(structure)
    scorer.pairs(torch.tensor([0, 1]), torch.tensor([5, 7]))   # one score per pair
    """

    tasks = ("link_prediction",)
    trainable = False

    def __init__(self, feature_spec: GraphSpec, measure: Measure = "resource_allocation") -> None:
        super().__init__()
        self.measure = measure

    def scorer(self, structure: GraphStructure) -> HeuristicScorer:
        return HeuristicScorer(structure, self.measure)
