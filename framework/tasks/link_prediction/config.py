"""The config nodes of the link_prediction kind and their checks (read before any heavy import).

candidates     which pairs a user's list is drawn from: friends of friends (2 hops) or every non-friend
link_training  how a trainable model (the GNN) learns from the graph, full batch
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omegaconf import DictConfig

from framework.checks import Problems, check_dataclass, value_of


@dataclass
class CandidatesConfig:
    """Candidate generation: what a user's "people you may know" list may contain."""

    strategy: Literal["friends_of_friends", "all"] = "friends_of_friends"


@dataclass
class LinkTrainingConfig:
    """Full-batch training: each step hides `target_share` of the graph's edges from message passing and
    learns to score them against `negatives_per_positive` random non-edges each."""

    steps_per_epoch: int = 20
    loss: Literal["pointwise", "pairwise", "listwise"] = "pointwise"  # BCE / BPR / softmax over each target's negatives
    # Which graph edges a step hides and predicts: a fresh random share, or always the newest (needs edge times)
    targets: Literal["random", "latest"] = "random"
    target_share: float = 0.1
    negatives_per_positive: int = 1
    hard_negatives: float = 0.0  # share of the negatives drawn two hops from the target's source (friends of friends)


@dataclass
class GraphDatasetKeys:
    """Dataset keys of edge lists (framework.data.graph.splits explains them)."""

    split_strategy: Literal["random", "temporal"] | None = None  # null = random
    eval_negatives: int = 10000  # shared sampled non-edges per held-out split (AUC, AP, Hits@K)


SCHEMAS = {"candidates": CandidatesConfig, "link_training": LinkTrainingConfig}
DATASET_SCHEMA = GraphDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """Both nodes are required; shares in (0, 1); counts positive; a dot decoder takes no structural features."""
    for key, schema in SCHEMAS.items():
        if cfg.get(key) is None:
            problems.add(f"Case '{value_of(cfg.case, 'name')}' is a link_prediction case and needs '{key}'.")
        else:
            check_dataclass(cfg[key], schema, key, problems)
    training = cfg.get("link_training")
    if training is not None:
        hard = value_of(training, "hard_negatives")
        if isinstance(hard, int | float) and not 0 <= hard <= 1:
            problems.add(f"'link_training.hard_negatives' must be in [0, 1] (a share of the negatives), got {hard}.")
        share = value_of(training, "target_share")
        if isinstance(share, int | float) and not 0 < share < 1:
            problems.add(
                f"'link_training.target_share' must be in (0, 1) (the share of edges each step hides from "
                f"message passing and predicts), got {share}. Example: link_training.target_share=0.3"
            )
        for key in ("steps_per_epoch", "negatives_per_positive"):
            value = value_of(training, key)
            if isinstance(value, int) and value < 1:
                problems.add(f"'link_training.{key}' must be a positive integer, got {value}.")
    strategy, nodes = value_of(cfg.trainer, "strategy"), value_of(cfg.trainer, "num_nodes")
    if (isinstance(strategy, str) and "ddp" in strategy) or (isinstance(nodes, int) and nodes > 1):
        problems.add(
            "A link_prediction case trains on the whole graph at once (full batch), on one device: data "
            "parallelism has no batches to share out. Use hardware=cpu or hardware=gpu."
        )
    negatives = value_of(cfg.dataset, "eval_negatives")
    if isinstance(negatives, int) and negatives < 1:
        problems.add(f"'dataset.eval_negatives' must be a positive integer, got {negatives}.")
    model = cfg.get("model")
    if model is not None and value_of(model, "decoder") == "dot" and value_of(model, "structural"):
        problems.add(
            "'model.structural' needs model.decoder=hadamard_mlp: a dot product of node vectors has no place "
            "for pair features. Use model.decoder=hadamard_mlp or model.structural=[]."
        )


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
