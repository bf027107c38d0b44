"""Wide & Deep (Cheng et al. 2016): a linear model over ids and hashed cross-product features, plus an MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.errors import ConfigError, choices_text
from framework.models.layers import MLP, FirstOrder, FusedEmbedding

_PRIME = 1_000_003


class WideAndDeep(nn.Module):
    """logit = wide (first order + one weight per hashed id pair of each `wide_crosses` field pair)
    + deep (MLP over concatenated embeddings and numeric features).

    The wide crosses memorise specific co-occurrences (e.g. ["C1", "C6"]); the deep part generalises.
    """

    tasks = ("ctr",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_units: Sequence[int] = (256, 128),
        dropout: float = 0.0,
        batch_norm: bool = False,
        wide_crosses: Sequence[Sequence[str]] = (),
        wide_cross_buckets: int = 100_000,
    ) -> None:
        super().__init__()
        names = [f.name for f in feature_spec.categorical]
        pairs = []
        for pair in wide_crosses:
            unknown = [p for p in pair if p not in names]
            if len(pair) != 2 or unknown:
                raise ConfigError(
                    f"model.wide_crosses: each cross is a pair of categorical field names, got {list(pair)}. "
                    f"Fields: {choices_text(names)}."
                )
            pairs.append([names.index(p) for p in pair])
        self.register_buffer("pairs", torch.tensor(pairs, dtype=torch.long).reshape(-1, 2), persistent=False)
        self.buckets = wide_cross_buckets
        self.linear = FirstOrder(feature_spec.cardinalities, feature_spec.n_numeric)
        self.crosses = FusedEmbedding([wide_cross_buckets] * len(pairs), 1, init_std=0.0) if pairs else None
        self.embedding = FusedEmbedding(feature_spec.cardinalities, embedding_dim)
        in_dim = len(names) * embedding_dim + feature_spec.n_numeric
        self.mlp = MLP(in_dim, hidden_units, dropout, batch_norm)
        self.head = nn.Linear(self.mlp.out_dim, 1)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        wide = self.linear(categorical, numeric)
        if self.crosses is not None:
            a, b = categorical[:, self.pairs[:, 0]].long(), categorical[:, self.pairs[:, 1]].long()
            wide = wide + self.crosses((a * _PRIME + b) % self.buckets).sum(dim=(1, 2))
        x = torch.cat([self.embedding(categorical).flatten(1), numeric], dim=1)
        return wide + self.head(self.mlp(x)).squeeze(-1)
