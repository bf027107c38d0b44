"""Two-tower retrieval model: a user tower and an item tower over ids and features, scored by inner product."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.interactions.table import InteractionSpec
from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP, FusedEmbedding


class Tower(nn.Module):
    """[field embeddings (flattened), numeric features] -> MLP -> linear to `out_dim`.

    `Tower(spec.user, field_dim=32, hidden_units=[128], out_dim=64)` maps a user's feature row to [B, 64].
    Without ids (`use_id=False`) the tower sees the features only, so it can embed a user or an item it
    never saw in training (cold start).
    """

    def __init__(
        self, spec: FeatureSpec, field_dim: int, hidden_units: Sequence[int], out_dim: int, dropout: float, use_id: bool
    ) -> None:
        super().__init__()
        self.first_field = 0 if use_id else 1
        cardinalities = spec.cardinalities[self.first_field :]
        self.embedding = FusedEmbedding(cardinalities, field_dim) if cardinalities else None
        in_dim = len(cardinalities) * field_dim + spec.n_numeric
        if in_dim == 0:
            raise ValueError("a tower needs at least one input: keep the id (use_ids=true) or add features")
        self.mlp = MLP(in_dim, hidden_units, dropout)
        self.out = nn.Linear(self.mlp.out_dim, out_dim)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [numeric] if numeric.shape[1] else []
        if self.embedding is not None:
            parts.insert(0, self.embedding(categorical[:, self.first_field :]).flatten(1))
        return self.out(self.mlp(torch.cat(parts, dim=1)))


class TwoTower(nn.Module):
    """score(u, i) = <user_tower(u), item_tower(i)>, optionally of L2-normalised vectors (cosine: the
    task's temperature then sets the softmax sharpness)."""

    tasks = ("two_stage",)

    def __init__(
        self,
        feature_spec: InteractionSpec,
        embedding_dim: int = 64,
        field_dim: int = 32,
        hidden_units: Sequence[int] = (128,),
        dropout: float = 0.0,
        use_ids: bool = True,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.user_tower = Tower(feature_spec.user, field_dim, hidden_units, embedding_dim, dropout, use_ids)
        self.item_tower = Tower(feature_spec.item, field_dim, hidden_units, embedding_dim, dropout, use_ids)
        self.normalize = normalize

    def _out(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) if self.normalize else x

    def user_vectors(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self._out(self.user_tower(categorical, numeric))

    def item_vectors(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self._out(self.item_tower(categorical, numeric))
