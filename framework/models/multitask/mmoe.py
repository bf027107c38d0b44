"""Multi-gate Mixture-of-Experts (Ma et al., KDD 2018, "Modeling Task Relationships in Multi-task Learning")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.multitask.experts import Experts, Towers
from framework.models.multitask.inputs import InputLayer


class MMoE(nn.Module):
    """x = [embeddings(categorical), numeric]; f_k = expert_k(x), k = 1..K;
    g_t = softmax(W_t x + b_t) in R^K; output_t = tower_t(sum_k g_t[k] f_k).

    Every head mixes the same K experts with its own gate, so related heads can share experts and
    conflicting ones can lean on different ones. `gates` returns the g_t for inspection.
    """

    tasks = ("multi_task",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        heads: Sequence[str],
        embedding_dim: int = 8,
        n_experts: int = 4,
        expert_units: Sequence[int] = (64,),
        tower_units: Sequence[int] = (32,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.heads = tuple(heads)
        self.inputs = InputLayer(feature_spec, embedding_dim)
        self.experts = Experts(n_experts, self.inputs.out_dim, expert_units, dropout)
        self.gate = nn.Linear(self.inputs.out_dim, len(self.heads) * n_experts)  # all T gates in one matmul
        self.towers = Towers(len(self.heads), self.experts.out_dim, tower_units, dropout)

    def _gates(self, x: torch.Tensor) -> torch.Tensor:  # [B, d] -> [B, T, K], rows sum to 1
        return torch.softmax(self.gate(x).view(len(x), len(self.heads), self.experts.n), dim=-1)

    def gates(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """Each head's weights over the experts: [B, T, K]."""
        return self._gates(self.inputs(categorical, numeric))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        x = self.inputs(categorical, numeric)  # [B, d]
        f = self.experts(x)  # [K, B, o]
        mixed = torch.einsum("btk,kbo->tbo", self._gates(x), f)  # head t's mixture: [T, B, o]
        return self.towers(mixed)  # [B, T]
