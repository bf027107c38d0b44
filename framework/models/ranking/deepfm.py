"""DeepFM (Guo et al. 2017): an FM and an MLP sharing the same field embeddings, summed."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP, FieldEmbedding, FirstOrder, fm_interaction


class DeepFM(nn.Module):
    """logit = first order + FM(pairwise) + MLP(all field embeddings concatenated)."""

    tasks = ("ctr",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.linear = FirstOrder(feature_spec.cardinalities, feature_spec.n_numeric)
        self.embedding = FieldEmbedding(feature_spec.cardinalities, feature_spec.n_numeric, embedding_dim)
        self.mlp = MLP(self.embedding.n_fields * embedding_dim, hidden_units, dropout, batch_norm)
        self.head = nn.Linear(self.mlp.out_dim, 1)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        e = self.embedding(categorical, numeric)
        deep = self.head(self.mlp(e.flatten(1))).squeeze(-1)
        return self.linear(categorical, numeric) + fm_interaction(e) + deep
