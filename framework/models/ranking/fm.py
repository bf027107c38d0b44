"""Factorization machine (Rendle 2010): every pair of fields interacts through <v_i, v_j>."""

from __future__ import annotations

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import FieldEmbedding, FirstOrder, fm_interaction


class FactorizationMachine(nn.Module):
    """logit = first order + sum_{i<j} <v_i, v_j>, over categorical ids and scaled numeric features."""

    tasks = ("ctr",)

    def __init__(self, feature_spec: FeatureSpec, embedding_dim: int = 16) -> None:
        super().__init__()
        self.linear = FirstOrder(feature_spec.cardinalities, feature_spec.n_numeric)
        self.embedding = FieldEmbedding(feature_spec.cardinalities, feature_spec.n_numeric, embedding_dim)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.linear(categorical, numeric) + fm_interaction(self.embedding(categorical, numeric))
