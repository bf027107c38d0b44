"""node2vec (Grover & Leskovec, KDD 2016): node vectors from skip-gram over random walks on the graph.

Walks of `walk_length` nodes start `walks_per_node` times at every node with a friend. From node c, having
come from t, the next node x is a neighbour of c drawn with weight 1/p if x = t (going back), 1 if x is
also a friend of t (staying near), 1/q otherwise (moving out); p = q = 1 is DeepWalk's uniform walk. The
biased draw is vectorised rejection sampling (KnightKing, SOSP 2019): a uniform neighbour is kept with
probability weight / max weight, so no per-edge transition tables are built.

Nodes within `window` steps of each other in a walk are (center, context) pairs, trained with the skip-gram
negative-sampling loss of similar listings (`framework.models.embedding.skipgram.SkipGram`, its hand-written
gradient), negatives drawn from the walk tokens' unigram distribution to the 3/4 power, as word2vec does.
A pair of users scores the cosine of their vectors: people in one community sit close, whether or not they
already share a friend. No Lightning: the recipe calls `fit` once (seconds), as for the other models
without gradient training through Lightning, then scores the graph like a heuristic.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure
from framework.data.sessions.datamodule import SessionSpec
from framework.errors import ConfigError
from framework.models.embedding.skipgram import SkipGram


def random_walks(
    adj: sp.csr_matrix, starts: np.ndarray, length: int, p: float, q: float, rng: np.random.Generator
) -> np.ndarray:
    """int64 [len(starts), length]: one walk from each start node (every start needs a neighbour)."""
    adj = adj.tocsr()
    adj.sort_indices()
    indptr, indices = adj.indptr, adj.indices.astype(np.int64)
    degree = np.diff(indptr)
    n = adj.shape[0]
    edge_keys = np.repeat(np.arange(n, dtype=np.int64), degree) * n + indices  # sorted: rows, then columns

    def uniform_neighbour(nodes: np.ndarray) -> np.ndarray:
        offset = (rng.random(len(nodes)) * degree[nodes]).astype(np.int64)
        return indices[indptr[nodes] + offset]

    walks = np.empty((len(starts), length), dtype=np.int64)
    walks[:, 0] = starts
    if length > 1:
        walks[:, 1] = uniform_neighbour(starts)
    weights = np.array([1.0 / p, 1.0, 1.0 / q])
    ceiling = weights.max()
    for step in range(2, length):
        if p == 1.0 and q == 1.0:
            walks[:, step] = uniform_neighbour(walks[:, step - 1])
            continue
        pending = np.arange(len(starts))
        while len(pending):
            previous, current = walks[pending, step - 2], walks[pending, step - 1]
            proposal = uniform_neighbour(current)
            keys = previous * n + proposal
            at = np.minimum(np.searchsorted(edge_keys, keys), len(edge_keys) - 1)
            near = edge_keys[at] == keys
            kind = np.where(proposal == previous, 0, np.where(near, 1, 2))
            accepted = rng.random(len(pending)) * ceiling < weights[kind]
            walks[pending[accepted], step] = proposal[accepted]
            pending = pending[~accepted]
    return walks


def walk_pairs(walks: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(center, context) int64 [P]: every two nodes at most `window` steps apart in a walk, both ways."""
    centers, contexts = [], []
    for offset in range(1, min(window, walks.shape[1] - 1) + 1):
        a, b = walks[:, :-offset].ravel(), walks[:, offset:].ravel()
        centers += [a, b]
        contexts += [b, a]
    return np.concatenate(centers), np.concatenate(contexts)


class Node2Vec(nn.Module):
    """
    model = Node2Vec(spec, embedding_dim=64, p=1.0, q=1.0)
    model.fit(structure, seed=1)                       # walks + skip-gram, seconds
    model.scorer(structure).users(torch.tensor([3]))   # [1, n] cosine similarities
    """

    tasks = ("link_prediction",)
    trainable = False  # fit outside Lightning (a few seconds); no checkpoint

    def __init__(
        self,
        feature_spec: GraphSpec,
        embedding_dim: int = 64,
        walks_per_node: int = 10,
        walk_length: int = 20,
        window: int = 5,
        p: float = 1.0,
        q: float = 1.0,
        negatives: int = 5,
        epochs: int = 3,
        lr: float = 0.03,
        batch_pairs: int = 65_536,
    ) -> None:
        super().__init__()
        checks = {
            "embedding_dim": embedding_dim >= 1,
            "walks_per_node": walks_per_node >= 1,
            "walk_length": walk_length >= 2,
            "window": window >= 1,
            "p": p > 0,
            "q": q > 0,
            "negatives": negatives >= 1,
            "epochs": epochs >= 1,
            "lr": lr > 0,
            "batch_pairs": batch_pairs >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(
                f"node2vec: {', '.join(f'model.{name}' for name in bad)} out of range: walk_length must be at "
                f"least 2; p, q and lr positive; the other settings at least 1."
            )
        self.skipgram = SkipGram(SessionSpec(n_items=feature_spec.n_nodes, item_features={}), embedding_dim)
        self.walks_per_node, self.walk_length, self.window = walks_per_node, walk_length, window
        self.p, self.q, self.negatives, self.epochs = p, q, negatives, epochs
        self.lr, self.batch_pairs = lr, batch_pairs
        self.history: list[float] = []

    def fit(self, structure: GraphStructure, seed: int) -> None:
        """Walks on the graph the models see, then `epochs` passes of skip-gram over their pairs."""
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # word2vec's start, from the seed alone: the same seed, the same vectors
            nn.init.xavier_normal_(self.skipgram.vectors.table.weight, generator=generator)  # as FusedEmbedding
            self.skipgram.contexts.table.weight.zero_()
        starts = np.flatnonzero(structure.degree > 0)
        starts = np.tile(starts, self.walks_per_node)
        walks = random_walks(structure.adj, starts, self.walk_length, self.p, self.q, rng)
        center, context = (torch.from_numpy(a) for a in walk_pairs(walks, self.window))
        noise = torch.from_numpy(np.bincount(walks.ravel(), minlength=structure.n_nodes).astype(np.float64)) ** 0.75
        optimizer = torch.optim.Adam(self.skipgram.parameters(), lr=self.lr)
        self.history = []
        for _ in range(self.epochs):
            order = torch.randperm(len(center), generator=generator)
            total = 0.0
            for start in range(0, len(order), self.batch_pairs):
                batch = order[start : start + self.batch_pairs]
                negatives = torch.multinomial(noise, len(batch) * self.negatives, True, generator=generator)
                loss = self.skipgram.loss(center[batch], context[batch], negatives.view(len(batch), -1))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            self.history.append(total / len(order))

    def node_vectors(self) -> torch.Tensor:
        return F.normalize(self.skipgram.vectors.table.weight.detach().double(), dim=1)

    def scorer(self, structure: GraphStructure) -> VectorScorer:
        return VectorScorer(self.node_vectors())


class VectorScorer:
    """Dot product of two nodes' vectors (their cosine when the vectors have unit length), for pairs and
    for whole user rows."""

    def __init__(self, vectors: torch.Tensor) -> None:
        self.vectors = vectors

    def pairs(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return (self.vectors[src] * self.vectors[dst]).sum(1)

    def users(self, users: torch.Tensor) -> torch.Tensor:
        return self.vectors[users] @ self.vectors.T
