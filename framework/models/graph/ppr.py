"""Personalized PageRank (Jeh & Widom 2003) as a link-prediction score: score(u, v) = pi_u(v), the
stationary probability that a walk restarting at u is at v.

A block of users is iterated at once, X <- alpha (X P + dangling mass back to u) + (1 - alpha) E with
P = D^-1 A, X and E of shape [users, n]: the same fixed point as networkx's
`pagerank(G, alpha, personalization={u: 1})` (dangling nodes return their mass to the personalization
vector, as networkx does by default), which the tests check it against.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure
from framework.errors import ConfigError


def personalized_pagerank(
    structure: GraphStructure, users: np.ndarray, alpha: float, iterations: int, tol: float = 1e-10
) -> np.ndarray:
    """float64 [len(users), n]: row i is the PageRank vector personalised on users[i]."""
    n = structure.n_nodes
    d = structure.degree
    transition = sp.diags(np.where(d > 0, 1.0 / np.maximum(d, 1.0), 0.0)) @ structure.adj  # row-stochastic
    dangling = d == 0
    restart = np.zeros((len(users), n))
    restart[np.arange(len(users)), users] = 1.0
    x = restart.copy()
    for _ in range(iterations):
        lost = x[:, dangling].sum(axis=1, keepdims=True)  # mass at nodes without edges goes back to u
        nxt = alpha * (np.asarray((transition.T @ x.T).T) + lost * restart) + (1 - alpha) * restart
        if np.abs(nxt - x).sum(axis=1).max() < tol:
            return nxt
        x = nxt
    return x


class PPRScorer:
    """PageRank vectors per user, computed once per user (pairs and user blocks share them)."""

    def __init__(self, structure: GraphStructure, alpha: float, iterations: int, block: int = 512) -> None:
        self.structure, self.alpha, self.iterations, self.block = structure, alpha, iterations, block
        self.rows: dict[int, np.ndarray] = {}

    def _vectors(self, users: np.ndarray) -> np.ndarray:
        missing = np.array(sorted(set(users.tolist()) - set(self.rows)), dtype=np.int64)
        for start in range(0, len(missing), self.block):
            chunk = missing[start : start + self.block]
            vectors = personalized_pagerank(self.structure, chunk, self.alpha, self.iterations)
            self.rows.update(zip(chunk.tolist(), vectors, strict=True))
        return np.stack([self.rows[u] for u in users.tolist()]) if len(users) else np.zeros((0, self.structure.n_nodes))

    def users(self, users: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._vectors(users.numpy()))

    def pairs(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        sources, inverse = np.unique(src.numpy(), return_inverse=True)
        return torch.from_numpy(self._vectors(sources)[inverse, dst.numpy()])


class PersonalizedPageRank(nn.Module):
    """Personalized PageRank from each user (no parameters, no training).

    PersonalizedPageRank(spec, alpha=0.85).scorer(structure).users(torch.tensor([3]))   # [1, n]
    """

    tasks = ("link_prediction",)
    trainable = False

    def __init__(self, feature_spec: GraphSpec, alpha: float = 0.85, iterations: int = 50) -> None:
        super().__init__()
        if not 0 < alpha < 1:
            raise ConfigError(f"model.alpha must be in (0, 1) (the probability of following an edge), got {alpha}.")
        self.alpha, self.iterations = alpha, iterations

    def scorer(self, structure: GraphStructure) -> PPRScorer:
        return PPRScorer(structure, self.alpha, self.iterations)
