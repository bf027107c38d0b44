"""Batched experts and per-head towers.

n expert MLPs of the same shape run as one matmul per layer: their weights are stacked into [n, in, out],
so x [n, B, in] @ W [n, in, out] -> [n, B, out]; a shared input [B, in] broadcasts over the n experts.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from framework.models.layers import MLP


class GroupedLinear(nn.Module):
    """n independent Linear(in_dim, out_dim): [n, B, in] (or one shared [B, in]) -> [n, B, out]."""

    def __init__(self, n: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = in_dim**-0.5  # nn.Linear's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in))
        self.weight = nn.Parameter(torch.empty(n, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.weight) + self.bias  # [B, in] broadcasts to [n, B, in]


class Experts(nn.Module):
    """n expert MLPs (Linear -> ReLU -> [Dropout] per layer) as GroupedLinears: [n, B, in] or [B, in] -> [n, B, out]."""

    def __init__(self, n: int, in_dim: int, hidden_units: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        if n < 1 or not hidden_units:
            raise ValueError(f"experts need n >= 1 and at least one layer, got n={n}, units={list(hidden_units)}")
        dims = [in_dim, *hidden_units]
        self.layers = nn.ModuleList(GroupedLinear(n, a, b) for a, b in pairwise(dims))
        self.dropout = nn.Dropout(dropout)
        self.n, self.out_dim = n, dims[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = self.dropout(torch.relu(layer(x)))
        return x


class Towers(nn.Module):
    """One tower per head, MLP -> Linear(., 1): per-head inputs [T, B, d] (or one shared [B, d]) -> [B, T]."""

    def __init__(self, n_heads: int, in_dim: int, tower_units: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        if n_heads < 1:
            raise ValueError("a multi-task model needs at least one head")
        mlps = [MLP(in_dim, tower_units, dropout) for _ in range(n_heads)]
        self.towers = nn.ModuleList(nn.Sequential(mlp, nn.Linear(mlp.out_dim, 1)) for mlp in mlps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_head = x if x.dim() == 3 else [x] * len(self.towers)
        return torch.cat([tower(h) for tower, h in zip(self.towers, per_head, strict=True)], dim=1)
