"""A click log in time-ordered windows: window i is rows bounds[i]:bounds[i+1] of the raw table.

The raw rows are kept (not encoded arrays) because a model retrained from scratch refits its encoder on
the windows it trains on: ids that appeared since the last training get embedding rows of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from framework.data.tabular.features import EncodedTable, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.errors import ConfigError

MIN_WINDOW_ROWS = 50  # fewer rows than this per window make every per-window metric noise


@dataclass
class Windows:
    table: RawTable  # every row, in time order
    bounds: np.ndarray  # int64 [count + 1]: window i is rows bounds[i]:bounds[i + 1]

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def rows(self, first: int, stop: int) -> RawTable:
        """Windows first..stop-1 as one table."""
        start, end = int(self.bounds[first]), int(self.bounds[stop])
        t = self.table
        return RawTable(t.frame.slice(start, end - start), t.label, t.numeric, t.categorical, t.source, start)

    def sizes(self) -> list[int]:
        return np.diff(self.bounds).tolist()


def equal_bounds(n_rows: int, count: int) -> np.ndarray:
    """`count` windows of equal length in time (row order), the remainder spread one row at a time."""
    return np.linspace(0, n_rows, count + 1).round().astype(np.int64)


def load_windows(cfg: DictConfig) -> Windows:
    """The dataset's rows cut into `retraining.windows` windows; ConfigError when they would be too small."""
    from framework.data import read_source
    from framework.data.tabular.datamodule import _NOT_SOURCE_ARGS

    table, _ = read_source(cfg.dataset, _NOT_SOURCE_ARGS, RawTable, "rows of a click log")
    count, n = int(cfg.retraining.windows), table.frame.height
    if n < count * MIN_WINDOW_ROWS:
        raise ConfigError(
            f"retraining.windows={count} needs at least {count * MIN_WINDOW_ROWS:,} rows "
            f"({MIN_WINDOW_ROWS} per window), but dataset '{cfg.dataset.name}' has {n:,}. "
            f"Use fewer windows or more rows."
        )
    return Windows(table, equal_bounds(n, count))


def fit_encoder(features: DictConfig, table: RawTable) -> TabularEncoder:
    """An encoder fit on all of `table`'s rows (the windows a model trains on), as the data module builds it."""
    f = features
    encoder = TabularEncoder(f.min_count, f.hash_buckets, f.numeric_transform, f.standardize, f.missing_indicators)
    encoder.fit(table, table.frame.height)
    return encoder


def tensors(encoded: EncodedTable) -> dict:
    """The batch dict a CTRTask reads."""
    import torch

    return {
        "categorical": torch.from_numpy(encoded.categorical),
        "numeric": torch.from_numpy(encoded.numeric),
        "label": torch.from_numpy(encoded.label),
    }
