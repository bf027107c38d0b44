"""The config node of the learning_to_rank kind and its checks (read before any heavy import).

ltr   how a network learns to order each query's list (`loss`), and which feature groups the model is
      denied (`drop_groups`: the ablation; the dataset names its groups, checked when it is read)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omegaconf import DictConfig

from framework.checks import Problems, check_dataclass, value_of


@dataclass
class LTRConfig:
    """Ranking loss of the networks (trees take `model.objective`), and the feature groups left out."""

    loss: Literal["pointwise", "pairwise", "listwise", "lambdarank"] = "listwise"
    drop_groups: list[str] = field(default_factory=list)


@dataclass
class RankingDatasetKeys:
    """Dataset keys of query-grouped rows (framework.data.ranking.datamodule explains them)."""

    split_strategy: Literal["group", "time"] | None = None  # null = group: whole queries per split


SCHEMAS = {"ltr": LTRConfig}
DATASET_SCHEMA = RankingDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """`ltr` is required; trees are fit by LightGBM on one process (no DDP)."""
    if cfg.get("ltr") is None:
        problems.add(f"Case '{value_of(cfg.case, 'name')}' is a learning_to_rank case and needs 'ltr'.")
    else:
        check_dataclass(cfg.ltr, LTRConfig, "ltr", problems)
    model = cfg.get("model")
    target = value_of(model, "_target_") if model is not None else None
    strategy, nodes = value_of(cfg.trainer, "strategy"), value_of(cfg.trainer, "num_nodes")
    distributed = (isinstance(strategy, str) and "ddp" in strategy) or (isinstance(nodes, int) and nodes > 1)
    if isinstance(target, str) and target.endswith("GradientBoostedTrees") and distributed:
        problems.add(
            "model=lightgbm is fit by LightGBM on this machine's cores, not by Lightning: DDP hardware does not "
            "apply. Use hardware=cpu (LightGBM uses every core it is given: model.num_threads)."
        )


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
