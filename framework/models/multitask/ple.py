"""Progressive Layered Extraction (Tang et al., RecSys 2020, "Progressive Layered Extraction (PLE)")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.multitask.experts import Experts, GroupedLinear, Towers
from framework.models.multitask.inputs import InputLayer


class Extraction(nn.Module):
    """One CGC layer. Experts are numbered [head 0's S, head 1's S, ..., the K shared], N = T S + K.

    Head t's experts read head t's input, shared experts read the shared input. Head t's gate
    (softmax over its S own + the K shared experts, linear in head t's input) gives head t's output;
    the shared gate (softmax over all N, linear in the shared input) gives the next shared input.
    inputs [T + 1, B, d] (the T heads', then the shared one) -> [T + 1, B, o] (or [T, B, o] without shared gate).
    """

    def __init__(
        self,
        n_heads: int,
        in_dim: int,
        shared: int,
        specific: int,
        units: Sequence[int],
        dropout: float,
        shared_gate: bool,
    ) -> None:
        super().__init__()
        self.T, self.S, self.K = n_heads, specific, shared
        n = n_heads * specific + shared
        self.experts = Experts(n, in_dim, units, dropout)
        self.head_gates = GroupedLinear(n_heads, in_dim, specific + shared)  # the T gates in one matmul
        self.shared_gate = nn.Linear(in_dim, n) if shared_gate else None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        T, S, K = self.T, self.S, self.K
        own = inputs[:T].unsqueeze(1).expand(-1, S, -1, -1).flatten(0, 1)  # head t's input, once per own expert
        f = self.experts(torch.cat([own, inputs[T].expand(K, -1, -1)]))  # [N, B, o]
        f_own, f_shared = f[: T * S].unflatten(0, (T, S)), f[T * S :]  # [T, S, B, o], [K, B, o]
        g = torch.softmax(self.head_gates(inputs[:T]), dim=-1)  # [T, B, S + K]: own experts first
        heads = torch.einsum("tbs,tsbo->tbo", g[..., :S], f_own) + torch.einsum("tbk,kbo->tbo", g[..., S:], f_shared)
        if self.shared_gate is None:
            return heads  # [T, B, o]
        s = torch.softmax(self.shared_gate(inputs[T]), dim=-1)  # [B, N]
        return torch.cat([heads, torch.einsum("bn,nbo->bo", s, f).unsqueeze(0)])  # [T + 1, B, o]


class PLE(nn.Module):
    """x = [embeddings(categorical), numeric]; `levels` CGC layers (see Extraction), the first fed x as
    every head's input and as the shared input; output_t = tower_t(head t's output of the last layer).

    Unlike MMoE, each head owns experts that other heads' gates never mix (in the last level they get
    head t's gradient only; lower levels reach the others through the shared gate), which keeps
    conflicting heads apart; the stacked levels extract shared and specific knowledge progressively.
    Only the last level drops the shared gate (nothing reads its output).
    """

    tasks = ("multi_task",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        heads: Sequence[str],
        embedding_dim: int = 8,
        levels: int = 2,
        shared_experts: int = 2,
        specific_experts: int = 1,
        expert_units: Sequence[int] = (32,),
        tower_units: Sequence[int] = (32,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if levels < 1 or shared_experts < 0 or specific_experts < 0 or shared_experts + specific_experts < 1:
            raise ValueError(f"PLE needs levels >= 1 and experts: {levels=}, {shared_experts=}, {specific_experts=}")
        self.heads = tuple(heads)
        self.inputs = InputLayer(feature_spec, embedding_dim)
        dims = [self.inputs.out_dim] + [expert_units[-1]] * levels  # each level's input width
        T, K, S = len(self.heads), shared_experts, specific_experts
        self.levels = nn.ModuleList(
            Extraction(T, dims[i], K, S, expert_units, dropout, shared_gate=i < levels - 1) for i in range(levels)
        )
        self.towers = Towers(len(self.heads), dims[-1], tower_units, dropout)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        x = self.inputs(categorical, numeric)  # [B, d]
        h = x.expand(len(self.heads) + 1, *x.shape)  # level 1: every head's input and the shared one are x
        for level in self.levels:
            h = level(h)
        return self.towers(h[: len(self.heads)])  # [B, T]
