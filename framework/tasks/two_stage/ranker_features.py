"""Feature rows of (user, candidate item) pairs for the stage-2 ranker.

The same module builds the ranker's training rows and serves requests, so there is no skew between
the two. A row holds:
- categorical: the user's feature fields (not the user id: a ranker orders one user's candidates, and
  a per-user offset cannot change that order) and the item's (item id included);
- numeric: the user's and the item's numeric features, then cross features of the pair:
  retrieval_score (stage 1's inner product), score_gap (to the user's best candidate), log_rank (in
  the stage-1 list), item_log_popularity and user_log_activity (training interactions),
  genre_affinity (cosine between the item's genres and the genres of the user's training items).
Cross features are standardised with statistics of the ranker's training rows (`fit`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.interactions.datamodule import InteractionDataModule
from framework.data.tabular.features import Feature, FeatureSpec

CROSS = ("retrieval_score", "score_gap", "log_rank", "item_log_popularity", "user_log_activity", "genre_affinity")


class RankerFeatures(nn.Module):
    """Lookup tables as buffers (they follow the ranker task to its device)."""

    def __init__(self, data: InteractionDataModule) -> None:
        super().__init__()
        spec = data.spec
        user_cat = torch.from_numpy(data.users.categorical[:, 1:])  # without the user id (see module doc)
        train_user, train_item = data.pairs["train"]
        tags = data.item_tags.float()
        profile = torch.zeros(spec.n_users, tags.shape[1]).index_add_(0, train_user, tags[train_item])
        for name, tensor in (
            ("user_cat", user_cat),
            ("user_num", torch.from_numpy(data.users.numeric)),
            ("item_cat", torch.from_numpy(data.items.categorical)),
            ("item_num", torch.from_numpy(data.items.numeric)),
            ("user_profile", F.normalize(profile, dim=1)),
            ("item_genres", F.normalize(tags, dim=1)),
            ("item_popularity", torch.log1p(data.item_counts.float())),
            ("user_activity", torch.log1p(data.user_counts.float())),
            ("mean", torch.zeros(len(CROSS))),
            ("std", torch.ones(len(CROSS))),
        ):
            self.register_buffer(name, tensor, persistent=name in ("mean", "std"))
        u, i = spec.user.categorical[1:], spec.item.categorical
        self.spec = FeatureSpec(
            tuple(Feature(f"user.{f.name}", "categorical", f.cardinality) for f in u)
            + tuple(Feature(f"item.{f.name}", "categorical", f.cardinality) for f in i)
            + tuple(Feature(f"user.{f.name}", "numeric") for f in spec.user.numeric)
            + tuple(Feature(f"item.{f.name}", "numeric") for f in spec.item.numeric)
            + tuple(Feature(name, "numeric") for name in CROSS),
            label="interacted",
        )

    def cross(
        self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor, top: torch.Tensor, ranks: torch.Tensor
    ) -> torch.Tensor:
        """Raw cross features [N, len(CROSS)] of pairs (items >= 0; non-finite scores count as 0)."""
        scores = torch.nan_to_num(scores.float(), neginf=0.0, posinf=0.0)
        top = torch.nan_to_num(top.float(), neginf=0.0, posinf=0.0)
        affinity = (self.user_profile[users] * self.item_genres[items]).sum(1)
        return torch.stack(
            [
                scores,
                scores - top,
                torch.log1p(ranks.float()),
                self.item_popularity[items],
                self.user_activity[users],
                affinity,
            ],
            dim=1,
        )

    def fit(
        self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor, top: torch.Tensor, ranks: torch.Tensor
    ):
        x = self.cross(users, items, scores, top, ranks)
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))
        return self

    def rows(
        self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor, top: torch.Tensor, ranks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(categorical [N, F], numeric [N, D]) of N pairs; pairs with item -1 (padding) get item 0's features."""
        items = items.clamp_min(0)
        cross = (self.cross(users, items, scores, top, ranks) - self.mean) / self.std
        categorical = torch.cat([self.user_cat[users], self.item_cat[items]], dim=1)
        numeric = torch.cat([self.user_num[users], self.item_num[items], cross], dim=1)
        return categorical, numeric
