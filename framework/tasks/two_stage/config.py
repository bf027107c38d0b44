"""The config nodes of the two_stage kind and their checks (read before any heavy import).

retrieval  stage-1 training (loss, negatives) and its own eval suite
index      `_target_` node (conf/index): exact or faiss ANN search over the item vectors
ranker     `_target_` node (conf/ranker): a pointwise scoring model; null = serve stage 1's order
ranking    stage-2 training settings
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omegaconf import DictConfig

from framework.checks import (
    Problems,
    check_dataclass,
    check_eval_suite,
    check_target,
    check_target_node,
    target_of,
    value_of,
)
from framework.schema import EvalConfig
from framework.signatures import read_signature


@dataclass
class RetrievalStageConfig:
    """Stage 1: how the candidate generator trains, and its own eval suite."""

    eval: EvalConfig = field(default_factory=EvalConfig)  # full-ranking metrics (conf/eval/retrieval.yaml)
    loss: Literal["softmax", "bpr"] = "softmax"
    negatives: Literal["in_batch", "uniform", "popularity"] = "in_batch"
    num_negatives: int = 256  # softmax with uniform / popularity negatives: shared negatives per batch
    logq_correction: bool = True  # subtract log(sampling probability) from the logits (softmax)
    temperature: float = 0.1  # softmax logits = score / temperature
    embedding_l2: float = 0.0  # L2 penalty on the batch's user and item vectors


@dataclass
class RankingStageConfig:
    """Stage 2: how the ranker trains on stage 1's validation candidates."""

    loss: Literal["pointwise", "pairwise", "listwise"] = "listwise"  # over each user's list
    max_epochs: int = 20
    patience: int | None = None  # early stopping on the ranker's validation users; null = the run's
    batch_size: int = 64  # candidate lists (users) per batch
    lr: float = 0.003
    val_fraction: float = 0.2  # share of the users with validation items kept to pick the ranker's best epoch


@dataclass
class InteractionDatasetKeys:
    """Dataset keys of interaction data (framework.data.interactions.splits explains them)."""

    split_strategy: Literal["random", "leave_last_out", "temporal"] | None = None
    positive_threshold: float | None = None  # interactions with strength >= this are positives; null = all


SCHEMAS = {"retrieval": RetrievalStageConfig, "ranking": RankingStageConfig}  # the others are `_target_` nodes
DATASET_SCHEMA = InteractionDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """retrieval and index are required; a ranker needs its training settings; list depths fit K."""
    name = value_of(cfg.case, "name")
    for key in ("retrieval", "index"):
        if cfg.get(key) is None:
            problems.add(f"Case '{name}' is a two_stage case and needs '{key}' (see conf/case/).")
    if cfg.get("retrieval") is not None:
        check_dataclass(cfg.retrieval, RetrievalStageConfig, "retrieval", problems)
        if isinstance(value_of(cfg.retrieval, "eval"), DictConfig):
            check_eval_suite(cfg.retrieval.eval, problems, "retrieval.eval")
        negatives, temperature = value_of(cfg.retrieval, "num_negatives"), value_of(cfg.retrieval, "temperature")
        if isinstance(negatives, int) and negatives < 1:
            problems.add(f"'retrieval.num_negatives' must be a positive integer, got {negatives}.")
        if isinstance(temperature, int | float) and temperature <= 0:
            problems.add(f"'retrieval.temperature' must be positive, got {temperature}.")
    if cfg.get("index") is not None:
        check_target_node(cfg.index, "index", problems)
    if cfg.get("ranking") is not None:
        check_dataclass(cfg.ranking, RankingStageConfig, "ranking", problems)
    if cfg.get("ranker") is not None:
        _check_ranker(cfg, problems)
    _check_list_lengths(cfg, problems)


def _check_ranker(cfg: DictConfig, problems: Problems) -> None:
    target = target_of(cfg.ranker, "ranker", problems)
    sig = read_signature(target) if target else None
    check_target(cfg.ranker, "ranker", problems, sig)
    if sig is not None and sig.tasks is not None and "ctr" not in sig.tasks:
        problems.add(
            f"'ranker' is {target.rsplit('.', 1)[-1]}, which is not a pointwise scoring model: a ranker scores "
            f'(user, candidate) rows like a CTR model (its class declares tasks = ("ctr", ...)).'
        )
    if cfg.get("ranking") is None:
        problems.add("A ranker needs the 'ranking' node (its training settings; see conf/case/).")
        return
    fraction = value_of(cfg.ranking, "val_fraction")
    if isinstance(fraction, int | float) and not 0 < fraction < 1:
        problems.add(f"'ranking.val_fraction' must be between 0 and 1, got {fraction}.")


def _check_list_lengths(cfg: DictConfig, problems: Problems) -> None:
    """The final lists hold K = case.serving.candidates_per_request items: no final metric may need more."""
    k = value_of(cfg.case.serving, "candidates_per_request")
    metrics = value_of(cfg.eval, "metrics")
    if not isinstance(k, int) or not isinstance(metrics, DictConfig):
        return
    if k < 1:
        problems.add(f"'case.serving.candidates_per_request' must be a positive integer, got {k}.")
        return
    for name in metrics:
        node = metrics[name]
        depth = value_of(node, "k") if isinstance(node, DictConfig) else None
        if isinstance(depth, int) and depth > k:
            problems.add(
                f"'eval.metrics.{name}' needs lists of {depth} items, but stage 1 passes only "
                f"case.serving.candidates_per_request={k} candidates to stage 2. Raise it to at least {depth}."
            )


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """`_target_` nodes to check once their targets can be imported (framework.schema.validate_targets)."""
    nodes = [(key, cfg[key]) for key in ("index", "ranker") if cfg.get(key) is not None]
    if cfg.get("retrieval") is not None:
        nodes += [(f"retrieval.eval.metrics.{k}", v) for k, v in cfg.retrieval.eval.metrics.items()]
    return nodes
