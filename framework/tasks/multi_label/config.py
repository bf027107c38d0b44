"""The config node of the multi_label kind and its checks (read before any heavy import).

multi_label   which classes are learned (`classes`), how the imbalance is handled (`imbalance`), and the
              review queue's operating point (`target_precision`) and volume (`posts_per_hour`)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omegaconf import DictConfig

from framework.checks import Problems, at_least, check_dataclass, number_at, value_of


@dataclass
class MultiLabelConfig:
    """Classes learned, imbalance handling, and the review queue's operating point."""

    classes: list[str] | None = None  # null: every class of the data
    # none: plain BCE; class_weight: positives weighted by negatives / positives (per class); focal: focal
    # loss (networks); downsample: keep `negative_rate` of the posts without any harm, then recalibrate
    imbalance: Literal["none", "class_weight", "focal", "downsample"] = "none"
    focal_gamma: float = 2.0
    negative_rate: float = 0.1
    target_precision: float = 0.8  # the review queue's operating point: each class's threshold keeps this precision
    posts_per_hour: int = 1_000_000  # posts the platform scores per hour (the queue's inflow is a share of it)
    benign: list[str] = field(default_factory=list)  # classes that are not harms (Davidson's neither): not queued


@dataclass
class PostDatasetKeys:
    """Dataset keys of post tables (framework.data.moderation.datamodule explains them)."""

    max_tokens: int = 48  # tokens kept per post
    vocab_size: int = 20_000  # most frequent train tokens (with padding and out-of-vocabulary)


SCHEMAS = {"multi_label": MultiLabelConfig}
DATASET_SCHEMA = PostDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """`multi_label` is required; rates and precision in (0, 1]; focal loss needs a network."""
    node = cfg.get("multi_label")
    if node is None:
        problems.add(f"Case '{value_of(cfg.case, 'name')}' is a multi_label case and needs 'multi_label'.")
        return
    check_dataclass(node, MultiLabelConfig, "multi_label", problems)
    for key in ("negative_rate", "target_precision"):
        value = number_at(node, key)
        if value is not None and not 0 < value <= 1:
            problems.add(f"'multi_label.{key}' must be in (0, 1], got {value}.")
    at_least(node, "multi_label", {"focal_gamma": 0, "posts_per_hour": 1}, problems)
    at_least(cfg.dataset, "dataset", {"max_tokens": 1, "vocab_size": 3}, problems)
    target = value_of(cfg.model, "_target_") if cfg.get("model") is not None else None
    if isinstance(target, str) and target.endswith("TfidfLogistic") and value_of(node, "imbalance") == "focal":
        problems.add(
            "multi_label.imbalance=focal is a loss for networks; model=tfidf_lr is fit by scikit-learn: use "
            "none, class_weight or downsample."
        )


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
