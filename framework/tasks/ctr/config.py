"""The ctr kind's own config: its dataset keys and their checks (read before any heavy import).

The ctr kind owns no top-level node; its datasets have keys of their own: `negative_rate` (negative
downsampling with recalibration: `framework/data/tabular/downsampling.py`), and `out_of_core`,
`chunk_rows` (reading a large file in chunks: `framework/data/tabular/out_of_core.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omegaconf import DictConfig

from framework.checks import Problems, at_least, number_at


@dataclass
class TabularDatasetKeys:
    """Dataset keys of click logs (framework.data.tabular.downsampling explains them)."""

    negative_rate: float = 1.0  # keep this seeded fraction of the negative training rows (1 = all), then recalibrate
    # Files of a delimited format (criteo, avazu) read and encoded in chunks of `chunk_rows` rows, in bounded
    # memory (framework/data/tabular/out_of_core.py): auto = files over 512 MiB. Neither changes the arrays.
    out_of_core: Literal["auto"] | bool = "auto"
    chunk_rows: int = 1_000_000


SCHEMAS: dict[str, type] = {}  # no node of its own
DATASET_SCHEMA = TabularDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """`dataset.negative_rate` is a fraction in (0, 1]; `dataset.chunk_rows` is positive."""
    at_least(cfg, "", {"dataset.chunk_rows": 1}, problems)
    rate = number_at(cfg, "dataset.negative_rate")
    if rate is not None and not 0 < rate <= 1:
        problems.add(
            f"'dataset.negative_rate' must be in (0, 1] (the fraction of negative training rows kept; "
            f"1 keeps all), got {rate}. Example: dataset.negative_rate=0.1"
        )


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
