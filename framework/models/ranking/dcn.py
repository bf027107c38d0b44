"""Deep & Cross Networks: DCN (Wang et al. 2017) and DCN-v2 (Wang et al. 2021).

Both feed x0 = [flattened categorical embeddings, numeric features] to a cross network (explicit,
bounded-degree feature crosses) and an MLP (implicit crosses), in parallel, then a linear head.
DCN-v2 replaces the rank-one cross vector by a (low-rank) matrix and can also stack the MLP on the
cross network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP, CrossNetwork, CrossNetworkV2, FusedEmbedding


def _x0(embedding: FusedEmbedding, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
    return torch.cat([embedding(categorical).flatten(1), numeric], dim=1)


class DCN(nn.Module):
    """logit = w . [CrossNetwork(x0), MLP(x0)] + b."""

    tasks = ("ctr", "learning_to_rank")

    def __init__(
        self,
        feature_spec: FeatureSpec,
        embedding_dim: int = 16,
        cross_layers: int = 3,
        hidden_units: Sequence[int] = (256, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.embedding = FusedEmbedding(feature_spec.cardinalities, embedding_dim)
        in_dim = len(feature_spec.cardinalities) * embedding_dim + feature_spec.n_numeric
        self.cross = CrossNetwork(in_dim, cross_layers)
        self.mlp = MLP(in_dim, hidden_units, dropout, batch_norm)
        self.head = nn.Linear(in_dim + self.mlp.out_dim, 1)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        x0 = _x0(self.embedding, categorical, numeric)
        return self.head(torch.cat([self.cross(x0), self.mlp(x0)], dim=1)).squeeze(-1)


class DCNv2(nn.Module):
    """Parallel: logit = w . [CrossV2(x0), MLP(x0)] + b.  Stacked: logit = w . MLP(CrossV2(x0)) + b."""

    tasks = ("ctr", "learning_to_rank")

    def __init__(
        self,
        feature_spec: FeatureSpec,
        embedding_dim: int = 16,
        cross_layers: int = 3,
        low_rank: int | None = 64,
        hidden_units: Sequence[int] = (256, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
        structure: Literal["parallel", "stacked"] = "parallel",
    ) -> None:
        super().__init__()
        self.embedding = FusedEmbedding(feature_spec.cardinalities, embedding_dim)
        in_dim = len(feature_spec.cardinalities) * embedding_dim + feature_spec.n_numeric
        self.cross = CrossNetworkV2(in_dim, cross_layers, low_rank)
        self.mlp = MLP(in_dim, hidden_units, dropout, batch_norm)
        self.stacked = structure == "stacked"
        self.head = nn.Linear(self.mlp.out_dim if self.stacked else in_dim + self.mlp.out_dim, 1)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        x0 = _x0(self.embedding, categorical, numeric)
        if self.stacked:
            return self.head(self.mlp(self.cross(x0))).squeeze(-1)
        return self.head(torch.cat([self.cross(x0), self.mlp(x0)], dim=1)).squeeze(-1)
