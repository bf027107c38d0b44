"""User–item interactions: the raw table every interaction source returns, and its encoding into arrays.

A source (MovieLens reader, synthetic watch log) returns an `InteractionTable`: the interactions (user,
item, timestamp, a feedback strength such as a rating or a watched fraction) plus a user table and an
item table with their features. `encode_interactions` turns it into contiguous arrays:

- users and items get dense indices 0..U-1 and 0..I-1 (the user and item tables fix them, so a user
  with no interaction still has a row: features are known, interactions are not);
- implicit feedback: interactions with strength >= `positive_threshold` are positives (all, if null);
  a (user, item) pair counts once, at its first time, so no pair lands in two splits;
- features: categorical fields become small ids (0 = missing), numeric fields are standardised over
  the entity table, tag columns (genres) stay 0/1 and double as the item's content vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import torch

from framework.data.tabular.features import Feature, FeatureSpec
from framework.errors import DataError


@dataclass
class InteractionTable:
    """`interactions`: user, item, timestamp (Int64 seconds), strength (Float64). `users` / `items`: one row
    per entity, keyed by `user` / `item`, with the feature columns named in the lists below."""

    interactions: pl.DataFrame
    users: pl.DataFrame
    items: pl.DataFrame
    user_categorical: list[str]
    user_numeric: list[str]
    item_categorical: list[str]
    item_numeric: list[str]
    item_tags: list[str]  # 0/1 content columns (genres, topics)
    strength: str  # what the strength column means: "rating", "watch_fraction"
    source: str  # shown in messages and run records

    def __post_init__(self) -> None:
        if self.interactions.height == 0:
            raise DataError(f"{self.source}: no interactions.")
        for name, frame, key in (("user", self.users, "user"), ("item", self.items, "item")):
            if frame.height == 0:
                raise DataError(f"{self.source}: the {name} table is empty.")
            duplicated = frame.get_column(key).is_duplicated()
            if duplicated.any():
                first = frame.get_column(key).filter(duplicated)[0]
                raise DataError(f"{self.source}: {name} id {first} appears more than once in the {name} table.")


@dataclass(frozen=True)
class InteractionSpec:
    """All a retrieval model knows about the data: catalogue sizes and the user / item feature fields.
    The first categorical field of each side is the id itself."""

    n_users: int
    n_items: int
    user: FeatureSpec
    item: FeatureSpec

    def to_dict(self) -> dict:
        return {
            "n_users": self.n_users,
            "n_items": self.n_items,
            "user": self.user.to_dict(),
            "item": self.item.to_dict(),
        }

    @staticmethod
    def from_dict(d: dict) -> InteractionSpec:
        return InteractionSpec(
            d["n_users"], d["n_items"], FeatureSpec.from_dict(d["user"]), FeatureSpec.from_dict(d["item"])
        )


@dataclass
class EntityFeatures:
    """Feature rows of every user (or item), indexed by the dense index."""

    categorical: np.ndarray  # int64 [N, F]; column 0 is the index itself
    numeric: np.ndarray  # float32 [N, D]


@dataclass
class EncodedInteractions:
    user: np.ndarray  # int64 [M] positives, one per (user, item) pair, in time order
    item: np.ndarray  # int64 [M]
    timestamp: np.ndarray  # int64 [M]
    users: EntityFeatures
    items: EntityFeatures
    item_tags: np.ndarray  # float32 [I, G] content vectors (diversity, genre affinity)
    spec: InteractionSpec
    info: dict = field(default_factory=dict)


def _categorical_codes(frame: pl.DataFrame, column: str) -> tuple[np.ndarray, int]:
    """Ids 1.. by descending frequency (ties by value), 0 = missing. Returns (ids, cardinality)."""
    values = frame.get_column(column).cast(pl.String)
    vocab = values.drop_nulls().value_counts(name="n").sort(["n", column], descending=[True, False]).get_column(column)
    ids = values.replace_strict(vocab, pl.int_range(1, len(vocab) + 1, eager=True), default=0, return_dtype=pl.Int64)
    return ids.to_numpy(), len(vocab) + 1


def _standardised(frame: pl.DataFrame, column: str) -> np.ndarray:
    x = frame.get_column(column).cast(pl.Float64)
    mean, std = x.mean(), x.std()
    std = std if std and std > 1e-12 else 1.0
    return ((x - (mean or 0.0)) / std).fill_null(0.0).fill_nan(0.0).cast(pl.Float32).to_numpy()


def _entity_features(
    frame: pl.DataFrame, key: str, categorical: list[str], numeric: list[str], tags: list[str]
) -> tuple[EntityFeatures, FeatureSpec]:
    n = frame.height
    columns, features = [np.arange(n, dtype=np.int64)], [Feature(f"{key}_id", "categorical", n)]
    for c in categorical:
        ids, cardinality = _categorical_codes(frame, c)
        columns.append(ids)
        features.append(Feature(c, "categorical", cardinality))
    dense = [_standardised(frame, c) for c in numeric]
    dense += [frame.get_column(c).cast(pl.Float32).fill_null(0.0).to_numpy() for c in tags]
    features += [Feature(c, "numeric") for c in (*numeric, *tags)]
    numeric_array = np.stack(dense, axis=1) if dense else np.zeros((n, 0), np.float32)
    return (
        EntityFeatures(np.stack(columns, axis=1), np.ascontiguousarray(numeric_array, dtype=np.float32)),
        FeatureSpec(tuple(features), label=""),
    )


def encode_interactions(table: InteractionTable, positive_threshold: float | None) -> EncodedInteractions:
    """Dense indices, positives only, one row per (user, item) pair at its first time, in time order."""
    users = table.users.sort("user")
    items = table.items.sort("item")
    user_index = users.select(pl.col("user"), pl.int_range(pl.len(), dtype=pl.Int64).alias("u"))
    item_index = items.select(pl.col("item"), pl.int_range(pl.len(), dtype=pl.Int64).alias("i"))
    frame = table.interactions
    n_read = frame.height
    if positive_threshold is not None:
        frame = frame.filter(pl.col("strength") >= positive_threshold)
        if frame.height == 0:
            raise DataError(
                f"{table.source}: no interaction has {table.strength} >= {positive_threshold} "
                f"(dataset.positive_threshold); lower it, or set it to null to count every interaction."
            )
    joined = frame.join(user_index, on="user", how="left").join(item_index, on="item", how="left")
    for side, index in (("user", "u"), ("item", "i")):
        unknown = joined.filter(pl.col(index).is_null())
        if unknown.height:
            raise DataError(
                f"{table.source}: {unknown.height} interaction(s) refer to {side}s missing from the {side} table "
                f"(first: {side} {unknown.get_column(side)[0]})."
            )
    pairs = (
        joined.select("u", "i", "timestamp")
        .with_row_index("row")
        .sort(["timestamp", "row"])  # time order; the file order breaks ties
        .unique(subset=["u", "i"], keep="first", maintain_order=True)
    )
    user_features, user_spec = _entity_features(users, "user", table.user_categorical, table.user_numeric, [])
    item_features, item_spec = _entity_features(
        items, "item", table.item_categorical, table.item_numeric, table.item_tags
    )
    tags = (
        items.select(table.item_tags).cast(pl.Float32).fill_null(0.0).to_numpy()
        if table.item_tags
        else np.zeros((items.height, 0), np.float32)
    )
    info = {
        "interactions_read": n_read,
        "positives": frame.height,
        "pairs": pairs.height,
        "users": users.height,
        "items": items.height,
        "strength": table.strength,
        "positive_threshold": positive_threshold,
    }
    return EncodedInteractions(
        user=pairs.get_column("u").to_numpy().astype(np.int64),
        item=pairs.get_column("i").to_numpy().astype(np.int64),
        timestamp=pairs.get_column("timestamp").to_numpy().astype(np.int64),
        users=user_features,
        items=item_features,
        item_tags=np.ascontiguousarray(tags, dtype=np.float32),
        spec=InteractionSpec(users.height, items.height, user_spec, item_spec),
        info=info,
    )


class UserItemSets:
    """Each user's set of items, as CSR (row pointers + sorted item indices), with batched look-ups.

    `dense(users)` gives the [B, I] membership mask used to exclude seen items or mark relevant ones;
    `contains(users, items)` tests pairs by binary search over the sorted keys user * I + item.
    """

    def __init__(self, user: np.ndarray, item: np.ndarray, n_users: int, n_items: int) -> None:
        keys = np.unique(np.asarray(user, np.int64) * n_items + np.asarray(item, np.int64))
        self.n_users, self.n_items = n_users, n_items
        self.keys = torch.from_numpy(keys)
        rows = keys // n_items
        self.indices = torch.from_numpy(keys % n_items)
        self.indptr = torch.from_numpy(np.searchsorted(rows, np.arange(n_users + 1)).astype(np.int64))

    def __len__(self) -> int:
        return len(self.keys)

    def union(self, other: UserItemSets) -> UserItemSets:
        keys = torch.cat([self.keys, other.keys]).numpy()
        return UserItemSets(keys // self.n_items, keys % self.n_items, self.n_users, self.n_items)

    def counts(self, users: torch.Tensor) -> torch.Tensor:
        users = users.cpu()
        return self.indptr[users + 1] - self.indptr[users]

    def rows(self, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch row, item) of every member of the given users' sets."""
        return csr_rows(self.indptr, self.indices, users.cpu())

    def dense(self, users: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        mask = torch.zeros(len(users), self.n_items, dtype=torch.bool)
        row, item = self.rows(users)
        mask[row, item] = True
        return mask.to(device)

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        query = users.cpu() * self.n_items + items.cpu()
        if len(self.keys) == 0:
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, query).clamp_max(len(self.keys) - 1)
        return (self.keys[pos] == query).to(users.device)

    def users_with_items(self) -> torch.Tensor:
        return torch.nonzero(self.indptr[1:] > self.indptr[:-1]).flatten()


def csr_rows(indptr: torch.Tensor, indices: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(position in `rows`, column) of every entry of the given rows of a CSR matrix, on its device."""
    starts, counts = indptr[rows], indptr[rows + 1] - indptr[rows]
    position = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), counts)
    ends = torch.cumsum(counts, 0)
    offsets = torch.arange(int(ends[-1]) if len(ends) else 0, device=rows.device) - torch.repeat_interleave(
        ends - counts, counts
    )
    return position, indices[torch.repeat_interleave(starts, counts) + offsets]
