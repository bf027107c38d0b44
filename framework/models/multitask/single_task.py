"""One model per reaction: the baseline every shared model must beat (or match at lower cost)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP
from framework.models.multitask.inputs import InputLayer


class SingleTask(nn.Module):
    """output_t = w_t . MLP_t([embeddings_t(categorical), numeric]) + b_t, for each head t.

    T fully separate networks (own embeddings, own MLP, own head) run side by side. The recipe sums the
    heads' losses, and d(sum_s L_s)/d theta_t = dL_t/d theta_t since network t feeds output t only: each
    network is trained exactly as it would be alone. Costs T times the parameters and the compute.
    """

    tasks = ("multi_task",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        heads: Sequence[str],
        embedding_dim: int = 8,
        hidden_units: Sequence[int] = (64, 32),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not heads:
            raise ValueError("a multi-task model needs at least one head")
        self.heads = tuple(heads)
        self.inputs = nn.ModuleList(InputLayer(feature_spec, embedding_dim) for _ in self.heads)
        self.mlps = nn.ModuleList(MLP(layer.out_dim, hidden_units, dropout) for layer in self.inputs)
        self.outs = nn.ModuleList(nn.Linear(mlp.out_dim, 1) for mlp in self.mlps)

    def network(self, t: int) -> list[nn.Module]:
        """The modules of head t's network (none shared with another head)."""
        return [self.inputs[t], self.mlps[t], self.outs[t]]

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        outputs = [
            out(mlp(inputs(categorical, numeric)))
            for inputs, mlp, out in zip(self.inputs, self.mlps, self.outs, strict=True)
        ]
        return torch.cat(outputs, dim=1)  # [B, T]
