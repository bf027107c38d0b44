"""Matrix factorisation: score(u, i) = <p_u, q_i> (+ b_i), from ids only."""

from __future__ import annotations

import torch
from torch import nn

from framework.data.interactions.table import InteractionSpec
from framework.models.layers import FusedEmbedding


class MF(nn.Module):
    """One embedding row per user and per item, drawn with std `init_std` (None: Xavier/Glorot per table,
    as RecBole's BPR). With `item_bias`, a per-item bias b_i rides in an extra dimension (the user vector
    gets a constant 1 there), so the score stays an inner product that an ANN index can search.

        mf = MF(spec, embedding_dim=64)
        scores = mf.user_vectors(user_cat, user_num) @ mf.item_vectors(item_cat, item_num).T   # [B, I]
    """

    tasks = ("two_stage",)

    def __init__(
        self,
        feature_spec: InteractionSpec,
        embedding_dim: int = 64,
        init_std: float | None = 0.1,
        item_bias: bool = False,
    ) -> None:
        super().__init__()
        self.users = FusedEmbedding([feature_spec.n_users], embedding_dim, init_std)
        self.items = FusedEmbedding([feature_spec.n_items], embedding_dim, init_std)
        self.bias = FusedEmbedding([feature_spec.n_items], 1, init_std=0.0) if item_bias else None

    def user_vectors(
        self, categorical: torch.Tensor, numeric: torch.Tensor, leave_out: torch.Tensor | None = None
    ) -> torch.Tensor:  # `leave_out` is for models that read the user's history; MF reads ids only
        p = self.users(categorical[:, :1]).squeeze(1)
        return torch.cat([p, torch.ones_like(p[:, :1])], dim=1) if self.bias is not None else p

    def item_vectors(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        q = self.items(categorical[:, :1]).squeeze(1)
        return torch.cat([q, self.bias(categorical[:, :1]).squeeze(1)], dim=1) if self.bias is not None else q
