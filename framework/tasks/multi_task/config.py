"""The config node of the multi_task kind and its checks (read before any heavy import).

multi_task   which of the data's tasks the model learns (`tasks`), how much each task's loss counts
             (`task_weights`), and how the heads combine into the engagement score that orders the feed
             (`engagement_weights`: the book's like / comment / share weights, hide negative)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omegaconf import DictConfig

from framework.checks import Problems, check_dataclass, value_of


@dataclass
class MultiTaskConfig:
    """Tasks learned, their loss weights, and the engagement score's weights (a task without a weight:
    loss weight 1, engagement weight 0). Weights may name tasks a dataset lacks (MIND has clicks only):
    they are skipped, and the run says so."""

    tasks: list[str] | None = None  # null: every task of the data
    task_weights: dict[str, float] = field(default_factory=dict)
    engagement_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class FeedDatasetKeys:
    """Dataset keys of feed impressions (framework.data.feed.datamodule explains them)."""

    split_strategy: Literal["time", "group"] | None = None  # null = time: the last feeds shown are the test


SCHEMAS = {"multi_task": MultiTaskConfig}
DATASET_SCHEMA = FeedDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """`multi_task` is required; weights are numbers, loss weights not negative and not all zero."""
    node = cfg.get("multi_task")
    if node is None:
        problems.add(f"Case '{value_of(cfg.case, 'name')}' is a multi_task case and needs 'multi_task'.")
        return
    check_dataclass(node, MultiTaskConfig, "multi_task", problems)
    for key in ("task_weights", "engagement_weights"):
        weights = value_of(node, key)
        if not isinstance(weights, DictConfig):
            continue
        for task in weights:
            w = value_of(weights, str(task))
            if not isinstance(w, int | float) or isinstance(w, bool):
                problems.add(f"'multi_task.{key}.{task}' must be a number, got {w!r}.")
            elif key == "task_weights" and w < 0:
                problems.add(f"'multi_task.task_weights.{task}' must not be negative (a loss weight), got {w}.")


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
