"""The input layer every multi-task model starts from: [flattened categorical embeddings, numeric features]."""

from __future__ import annotations

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import FusedEmbedding


class InputLayer(nn.Module):
    """[B, F] ids and [B, D] numbers -> [B, F * E + D]; either part may be absent from the spec."""

    def __init__(self, feature_spec: FeatureSpec, embedding_dim: int) -> None:
        super().__init__()
        n_fields, self.n_numeric = len(feature_spec.cardinalities), feature_spec.n_numeric
        self.embedding = FusedEmbedding(feature_spec.cardinalities, embedding_dim) if n_fields else None
        self.out_dim = n_fields * embedding_dim + self.n_numeric
        if self.out_dim == 0:
            raise ValueError("the feature spec has no categorical and no numeric features")

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [self.embedding(categorical).flatten(1)] if self.embedding is not None else []
        if self.n_numeric:
            parts.append(numeric)
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
