"""Skip-gram with negative sampling over click sessions (word2vec with sessions as sentences; Grbovic &
Cheng, "Real-time Personalization using Embeddings for Search Ranking at Airbnb", KDD 2018).

Two tables, as word2vec: a listing's vector v (what is served) and its context vector v'. For a training
pair (center c, context o) with k random negatives n_i and m same-market negatives h_j:

    loss = -log s(v_c . v'_o) - sum_i log s(-v_c . v'_(n_i)) - sum_j log s(-v_c . v'_(h_j))

(s = sigmoid). Random negatives come mostly from other markets, so they teach little about which
listings of one market are alike: the same-market negatives do (the paper's third ingredient). Pairs,
window and the booked listing as global context come from `framework.data.sessions.pairs`.
Similar listings are served by cosine similarity of the v vectors.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from framework.data.sessions.datamodule import SessionSpec
from framework.data.sessions.splits import Clicks
from framework.models.layers import FusedEmbedding


class SkipGram(nn.Module):
    """
    model = SkipGram(spec, embedding_dim=32)
    loss = model.loss(center, context, negatives)     # long [B], [B], [B, k]
    sims = model.scorer(train_clicks).scores(np.array([3, 7]))   # [2, n_items] cosine similarities
    """

    tasks = ("session_embedding",)
    trainable = True

    def __init__(self, feature_spec: SessionSpec, embedding_dim: int = 32) -> None:
        super().__init__()
        self.vectors = FusedEmbedding([feature_spec.n_items], embedding_dim, init_std=None)  # Xavier
        self.contexts = FusedEmbedding([feature_spec.n_items], embedding_dim, init_std=0.0)  # word2vec: zeros

    def loss(self, center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        v = self.vectors(center[:, None]).squeeze(1)  # [B, d]
        positive = (v * self.contexts(context[:, None]).squeeze(1)).sum(1)
        negative = torch.einsum("bd,bkd->bk", v, self.contexts(negatives))
        return (F.softplus(-positive) + F.softplus(negative).sum(1)).mean()

    def item_vectors(self) -> torch.Tensor:
        return F.normalize(self.vectors.table.weight.detach().float(), dim=1)

    def scorer(self, train: Clicks) -> EmbeddingScorer:
        return EmbeddingScorer(self.item_vectors().cpu())


class EmbeddingScorer:
    def __init__(self, vectors: torch.Tensor) -> None:
        self.vectors = vectors

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        return self.vectors[torch.from_numpy(queries)] @ self.vectors.T
