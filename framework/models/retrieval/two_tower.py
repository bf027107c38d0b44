"""Two-tower retrieval model: a user tower and an item tower over ids and features, scored by inner product."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.interactions.table import InteractionSpec, csr_rows
from framework.data.tabular.features import FeatureSpec
from framework.models.layers import MLP, FusedEmbedding


class Tower(nn.Module):
    """[field embeddings (flattened), numeric features] -> MLP -> linear to `out_dim`.

    `Tower(spec.user, field_dim=32, hidden_units=[128], out_dim=64)` maps a user's feature row to [B, 64].
    Without ids (`use_id=False`) the tower sees the features only, so it can embed a user or an item it
    never saw in training (cold start).
    """

    def __init__(
        self,
        spec: FeatureSpec,
        field_dim: int,
        hidden_units: Sequence[int],
        out_dim: int,
        dropout: float,
        use_id: bool,
        extra_dim: int = 0,
    ) -> None:
        super().__init__()
        self.first_field = 0 if use_id else 1
        cardinalities = spec.cardinalities[self.first_field :]
        self.embedding = FusedEmbedding(cardinalities, field_dim) if cardinalities else None
        in_dim = len(cardinalities) * field_dim + spec.n_numeric + extra_dim
        if in_dim == 0:
            raise ValueError("a tower needs at least one input: keep the id (use_ids=true) or add features")
        self.mlp = MLP(in_dim, hidden_units, dropout)
        self.out = nn.Linear(self.mlp.out_dim, out_dim)

    def forward(
        self, categorical: torch.Tensor, numeric: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = [numeric] if numeric.shape[1] else []
        if self.embedding is not None:
            parts.insert(0, self.embedding(categorical[:, self.first_field :]).flatten(1))
        if extra is not None:
            parts.append(extra)
        return self.out(self.mlp(torch.cat(parts, dim=1)))


class TwoTower(nn.Module):
    """score(u, i) = <user_tower(u), item_tower(i)>, optionally of L2-normalised vectors (cosine: the
    task's temperature then sets the softmax sharpness).

    With `history`, the user tower also reads the mean of an embedding of each item in the user's
    training history (YouTube's candidate generation, Covington et al. 2016: the watch history as a
    bag of videos), so two users who watched the same videos start close even when one has little
    data of its own. The history is set by the recipe (`set_history`); in training, a pair's own item
    is left out of its user's bag, or the tower could score a positive by finding it in the bag.
    """

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
        history: bool = False,
    ) -> None:
        super().__init__()
        extra = field_dim if history else 0
        self.user_tower = Tower(feature_spec.user, field_dim, hidden_units, embedding_dim, dropout, use_ids, extra)
        self.item_tower = Tower(feature_spec.item, field_dim, hidden_units, embedding_dim, dropout, use_ids)
        self.normalize = normalize
        self.history = FusedEmbedding([feature_spec.n_items], field_dim) if history else None
        self.register_buffer("history_indptr", torch.zeros(feature_spec.n_users + 1, dtype=torch.long))
        self.register_buffer("history_items", torch.zeros(0, dtype=torch.long))

    def set_history(self, indptr: torch.Tensor, items: torch.Tensor) -> None:
        """Each user's history as CSR (row pointers over users, item ids); kept in the checkpoint."""
        self.history_indptr = indptr.to(self.history_indptr.device, torch.long)
        self.history_items = items.to(self.history_indptr.device, torch.long)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """A checkpoint's history may differ in size from this model's (a fresh model has none): take its shape."""
        for name in ("history_indptr", "history_items"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=self.history_indptr.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _history_bag(self, users: torch.Tensor, leave_out: torch.Tensor | None) -> torch.Tensor:
        """Mean history embedding per user [B, field_dim] (zeros for an empty history)."""
        rows, items = csr_rows(self.history_indptr, self.history_items, users)
        keep = torch.ones_like(items, dtype=torch.bool) if leave_out is None else items != leave_out[rows]
        vectors = self.history(items[:, None]).squeeze(1) * keep.unsqueeze(1)
        total = torch.zeros(len(users), vectors.shape[1], device=vectors.device, dtype=vectors.dtype)
        count = torch.zeros(len(users), device=vectors.device, dtype=vectors.dtype).index_add_(
            0, rows, keep.to(vectors.dtype)
        )
        return total.index_add_(0, rows, vectors) / count.clamp_min(1.0)[:, None]

    def _out(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) if self.normalize else x

    def user_vectors(
        self, categorical: torch.Tensor, numeric: torch.Tensor, leave_out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B, D] user vectors; `leave_out` [B]: an item to leave out of each user's history bag (training)."""
        bag = self._history_bag(categorical[:, 0], leave_out) if self.history is not None else None
        return self._out(self.user_tower(categorical, numeric, bag))

    def item_vectors(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self._out(self.item_tower(categorical, numeric))
