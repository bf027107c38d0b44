"""Shared-bottom multi-task learning (Caruana 1997, "Multitask Learning")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP
from framework.models.multitask.experts import Towers
from framework.models.multitask.inputs import InputLayer


class SharedBottom(nn.Module):
    """h = bottom([embeddings(categorical), numeric]); output_t = tower_t(h) for each head t.

    The embeddings and the bottom MLP receive the sum of all heads' gradients (hard parameter sharing):
    related reactions help each other, conflicting ones pull the shared layers apart (negative transfer).
    """

    tasks = ("multi_task",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        heads: Sequence[str],
        embedding_dim: int = 8,
        bottom_units: Sequence[int] = (128, 64),
        tower_units: Sequence[int] = (32,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.heads = tuple(heads)
        self.inputs = InputLayer(feature_spec, embedding_dim)
        self.bottom = MLP(self.inputs.out_dim, bottom_units, dropout)
        self.towers = Towers(len(self.heads), self.bottom.out_dim, tower_units, dropout)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.towers(self.bottom(self.inputs(categorical, numeric)))  # [B, T]
