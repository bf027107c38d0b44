"""A plain deep network over all fields: the two-stage case's default ranker (and a CTR baseline)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP, FusedEmbedding


class DNN(nn.Module):
    """logit = w . MLP([flattened categorical embeddings, numeric features]) + b.

    As a ranker it scores (user, candidate) rows whose fields are the user's and the item's features
    plus cross features (stage-1 score and rank, popularity, genre affinity).
    """

    tasks = ("ctr", "learning_to_rank")

    def __init__(
        self,
        feature_spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_units: Sequence[int] = (256, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = FusedEmbedding(feature_spec.cardinalities, embedding_dim)
        in_dim = len(feature_spec.cardinalities) * embedding_dim + feature_spec.n_numeric
        self.mlp = MLP(in_dim, hidden_units, dropout, batch_norm)
        self.head = nn.Linear(self.mlp.out_dim, 1)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.embedding(categorical).flatten(1), numeric], dim=1)
        return self.head(self.mlp(x)).squeeze(-1)
