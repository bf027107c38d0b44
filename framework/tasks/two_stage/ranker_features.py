"""Feature rows of a user's candidate list for the stage-2 ranker: what stage 1 cannot see.

The same module builds the ranker's training lists and serves requests, so there is no skew between
the two. Every statistic comes from the training interactions only. A row of (user, candidate) holds:
- categorical: the user's feature fields (not the user id: a ranker orders one user's candidates, and
  a per-user offset cannot change that order) and the item's (item id included);
- numeric: the user's and the item's numeric features, then cross features of the pair:
  - stage 1: retrieval_score (its inner product), score_gap (to the list's best), log_rank;
  - popularity and activity: item_log_popularity, user_log_activity (training interactions);
  - content: genre_affinity (cosine between the item's genres and the genres of the user's items);
  - history: history_similarity (log1p of the summed item-item co-occurrence cosine between the
    candidate and the user's items, `framework.data.interactions.cooccurrence`) and its mean per
    history item. A two-tower scores a user by one vector; item-based collaborative filtering
    compares the candidate with each item of the history, which stage 1's dot product cannot do;
  - time: time_gap (days between the item's mean interaction time and the user's) and item_age
    (days from the item's first interaction to the user's mean time): when a user was active and which
    items were around then.
Cross features are standardised with statistics of the ranker's training lists (`fit`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.interactions.cooccurrence import history_similarity, item_neighbours
from framework.data.interactions.datamodule import InteractionDataModule
from framework.data.interactions.table import csr_rows
from framework.data.tabular.features import Feature, FeatureSpec

CROSS = (
    "retrieval_score",
    "score_gap",
    "log_rank",
    "item_log_popularity",
    "user_log_activity",
    "genre_affinity",
    "history_similarity",
    "history_similarity_mean",
    "time_gap",
    "item_age",
)
_DAY = 86_400.0


def _mean_days(index: torch.Tensor, days: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of `days` per index (the overall mean where an index has none)."""
    total = torch.zeros(n, dtype=torch.float64).index_add_(0, index, days)
    count = torch.bincount(index, minlength=n).double()
    return torch.where(count > 0, total / count.clamp_min(1), days.mean()).float()


class RankerFeatures(nn.Module):
    """Lookup tables as buffers (they follow the ranker task to its device)."""

    def __init__(self, data: InteractionDataModule, neighbours: int = 100) -> None:
        super().__init__()
        spec = data.spec
        user_cat = torch.from_numpy(data.users.categorical[:, 1:])  # without the user id (see module doc)
        train_user, train_item = data.pairs["train"]
        tags = data.item_tags.float()
        profile = torch.zeros(spec.n_users, tags.shape[1]).index_add_(0, train_user, tags[train_item])
        ids, weights = item_neighbours(train_user.numpy(), train_item.numpy(), spec.n_users, spec.n_items, neighbours)
        history = data.sets["train"]
        days = (data.times["train"].double() - float(data.times["train"].min())) / _DAY
        first = torch.full((spec.n_items,), float(days.max()), dtype=torch.float64)
        first = first.scatter_reduce(0, train_item, days, "amin").float()
        for name, tensor in (
            ("user_cat", user_cat),
            ("user_num", torch.from_numpy(data.users.numeric)),
            ("item_cat", torch.from_numpy(data.items.categorical)),
            ("item_num", torch.from_numpy(data.items.numeric)),
            ("user_profile", F.normalize(profile, dim=1)),
            ("item_genres", F.normalize(tags, dim=1)),
            ("item_popularity", torch.log1p(data.item_counts.float())),
            ("user_activity", data.user_counts.float()),
            ("neighbour_ids", ids),
            ("neighbour_weights", weights),
            ("history_indptr", history.indptr),
            ("history_items", history.indices),
            ("user_days", _mean_days(train_user, days, spec.n_users)),
            ("item_days", _mean_days(train_item, days, spec.n_items)),
            ("item_first_day", first),
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

    def tables(self) -> dict[str, torch.Tensor]:
        """Every lookup table and the standardisation statistics: what serving needs (`from_tables`)."""
        return dict(self.named_buffers())

    @classmethod
    def from_tables(cls, tables: dict[str, torch.Tensor], spec: FeatureSpec) -> RankerFeatures:
        """The features `tables()` came from, without the data module (a serving artefact holds the tables)."""
        features = cls.__new__(cls)
        nn.Module.__init__(features)
        for name, tensor in tables.items():
            features.register_buffer(name, tensor, persistent=name in ("mean", "std"))
        features.spec = spec
        return features

    def cross(self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Raw cross features [U, K, len(CROSS)] of each user's list (items >= 0; padding scores count as 0)."""
        n_users, k = items.shape
        scores = torch.nan_to_num(scores.float(), neginf=0.0, posinf=0.0)
        ranks = torch.arange(k, device=items.device)[None, :].expand(n_users, k)
        user = users[:, None].expand(n_users, k)
        row, history = csr_rows(self.history_indptr, self.history_items, users)
        similarity = history_similarity(self.neighbour_ids, self.neighbour_weights, row, history, n_users, items)
        activity = self.user_activity[user]
        return torch.stack(
            [
                scores,
                scores - scores[:, :1],
                torch.log1p(ranks.float()),
                self.item_popularity[items],
                torch.log1p(activity),
                (self.user_profile[user] * self.item_genres[items]).sum(-1),
                torch.log1p(similarity),
                similarity / activity.clamp_min(1.0),
                (self.item_days[items] - self.user_days[user]).abs(),
                self.user_days[user] - self.item_first_day[items],
            ],
            dim=-1,
        )

    def fit(self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor) -> RankerFeatures:
        """Standardise the cross features with their statistics over the real entries of these lists."""
        x = self.cross(users, items.clamp_min(0), scores)[items >= 0]
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))
        return self

    def rows(self, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(categorical [U*K, F], numeric [U*K, D]) of the lists `items` [U, K] of `users` [U], row-major;
        padding (item -1) gets item 0's features."""
        items = items.clamp_min(0)
        cross = ((self.cross(users, items, scores) - self.mean) / self.std).flatten(0, 1)
        user, item = users[:, None].expand_as(items).flatten(), items.flatten()
        categorical = torch.cat([self.user_cat[user], self.item_cat[item]], dim=1)
        numeric = torch.cat([self.user_num[user], self.item_num[item], cross], dim=1)
        return categorical, numeric
