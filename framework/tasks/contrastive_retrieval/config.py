"""The config nodes of the contrastive retrieval kind and their checks (read before any heavy import).

contrastive   how the encoder(s) learn: the loss (nt_xent, supcon, triplet, classifier for images; clip for
              text -> video), its temperature / margin / mining, the training augmentation of images and
              the near-duplicate queries' augmentation
search        video search: the channel served (visual, text, fused), the fusion method and its knobs, BM25's
index         `_target_` node (conf/index): exact or faiss ANN search over the catalogue's vectors
copy_detection  visual search: near-duplicate search's own descriptor (a tiny image, or the encoder) and the
              catalogue's reference views (framework.search.copy_detection); null: the encoder, one view
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework.checks import Problems, at_least, check_dataclass, number_at, value_of


@dataclass
class ContrastiveConfig:
    loss: Literal["nt_xent", "supcon", "triplet", "classifier", "clip"] = "supcon"
    temperature: float = 0.1  # softmax temperature of nt_xent, supcon, clip
    margin: float = 0.2  # triplet margin (Euclidean distance between unit vectors: 0..2)
    mining: Literal["batch_hard", "semi_hard", "all"] = "batch_hard"
    instance_weight: float = 0.0  # supcon / triplet: + this x NT-Xent over each image's two views (item-level)
    augment: dict[str, Any] | None = None  # training views (framework.data.images.augment.Augment's fields)
    near_duplicate: dict[str, Any] | None = None  # the near-duplicate queries' edit (the same fields)
    reversal_weight: float = 0.0  # clip: + this x time-order loss (a caption stating an order vs its video reversed)
    order_words: list[str] = field(default_factory=lambda: ["then", "before", "after"])  # what marks such a caption


@dataclass
class SearchConfig:
    channel: Literal["visual", "text", "fused"] = "fused"  # what test/search/* reports: the channel served
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = 60  # reciprocal rank fusion's constant (Cormack et al. 2009)
    weights: list[float] = field(default_factory=lambda: [1.0, 1.0])  # (visual, text)
    depth: int = 100  # results of each channel that are fused
    bm25_k1: float = 1.5
    bm25_b: float = 0.75


@dataclass
class CopyDetectionConfig:
    descriptor: Literal["tiny_image", "encoder"] = "tiny_image"
    tiny_size: int = 8  # tiny_image: the side it is area-averaged to
    view_sizes: list[float] = field(default_factory=lambda: [1.0])  # reference views' sides (shares of the image's)
    view_positions: int = 1  # places per axis of a view smaller than the image
    flips: bool = False  # mirrored views too (for copies that may be mirrored)
    index: dict[str, Any] | None = None  # a conf/index node over the views (faiss IVF, HNSW); null: exact search
    candidates: int = 64  # with an index: the views fetched per query, grouped by catalogue image


@dataclass
class RetrievalDatasetKeys:
    max_tokens: int = 16  # tokens kept per caption / query
    vocab_size: int = 20_000  # most frequent train-caption tokens (with padding and unknown)


Schema = TypeVar("Schema")
SCHEMAS = {"contrastive": ContrastiveConfig, "search": SearchConfig, "copy_detection": CopyDetectionConfig}


def _filled(node: DictConfig, schema: type[Schema]) -> Schema:
    """A node as its schema's dataclass, the schema's defaults for the keys the config leaves out."""
    given = OmegaConf.to_container(node, resolve=True)
    assert isinstance(given, dict)
    return schema(**{**asdict(schema()), **given})


def settings(cfg: DictConfig) -> ContrastiveConfig:
    """The `contrastive` node (video search leaves out margin, mining and augmentation)."""
    return _filled(cfg.contrastive, ContrastiveConfig)


def copy_settings(cfg: DictConfig) -> CopyDetectionConfig | None:
    """The `copy_detection` node (None: the case has none)."""
    return None if cfg.get("copy_detection") is None else _filled(cfg.copy_detection, CopyDetectionConfig)


DATASET_SCHEMA = RetrievalDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """contrastive and index are required (search for videos); knobs in range; augmentations valid."""
    for key in ("contrastive", "index"):
        if cfg.get(key) is None:
            problems.add(f"Case '{value_of(cfg.case, 'name')}' is a contrastive_retrieval case and needs '{key}'.")
    node = cfg.get("contrastive")
    if node is not None:
        check_dataclass(node, ContrastiveConfig, "contrastive", problems)
        floors = {"temperature": 1e-6, "margin": 0.0, "instance_weight": 0.0, "reversal_weight": 0.0}
        at_least(node, "contrastive", floors, problems)
        weight, loss = number_at(node, "reversal_weight"), value_of(node, "loss")
        if weight and loss is not None and loss != "clip":
            problems.add(
                f"'contrastive.reversal_weight' is a loss on (caption, video) pairs: it needs contrastive.loss=clip, "
                f"got '{loss}'. Set contrastive.reversal_weight=0."
            )
        for key in ("augment", "near_duplicate"):
            if isinstance(node.get(key), DictConfig):
                from framework.data.images.augment import Augment  # torch: only when a config names one

                before = len(problems.items)
                check_dataclass(node[key], Augment, f"contrastive.{key}", problems)
                if len(problems.items) == before:  # known keys: are the values in range?
                    values = {k: tuple(v) if isinstance(v, ListConfig) else v for k, v in node[key].items()}
                    try:
                        Augment(**values)
                    except (ValueError, TypeError) as exc:
                        problems.add(f"'contrastive.{key}': {exc}.")
    if cfg.get("search") is not None:
        check_dataclass(cfg.search, SearchConfig, "search", problems)
        at_least(cfg.search, "search", {"rrf_k": 0, "depth": 1, "bm25_k1": 0.0, "bm25_b": 0.0}, problems)
        weights = value_of(cfg.search, "weights")
        if weights is not None and len(weights) != 2:
            problems.add(f"'search.weights' are two weights (visual, text), got {list(weights)}.")
        b = number_at(cfg.search, "bm25_b")
        if b is not None and b > 1:
            problems.add(f"'search.bm25_b' must be in [0, 1] (BM25's length normalisation), got {b}.")
    if cfg.get("copy_detection") is not None:
        node = cfg.copy_detection
        check_dataclass(node, CopyDetectionConfig, "copy_detection", problems)
        at_least(node, "copy_detection", {"tiny_size": 1, "view_positions": 1, "candidates": 1}, problems)
        sizes = value_of(node, "view_sizes")
        numbers = isinstance(sizes, ListConfig) and all(isinstance(v, int | float) for v in sizes)
        if numbers and (not sizes or any(not 0 < v <= 1 for v in sizes)):
            problems.add(
                f"'copy_detection.view_sizes' are the reference views' sides as shares of the image's side, in "
                f"(0, 1], got {list(sizes)}. Example: copy_detection.view_sizes=[1.0,0.9,0.8]"
            )
    if cfg.get("dataset") is not None:
        at_least(cfg.dataset, "dataset", {"max_tokens": 1, "vocab_size": 3}, problems)


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    nodes = [("index", cfg.index)] if cfg.get("index") is not None else []
    copies = cfg.get("copy_detection")
    if isinstance(copies, DictConfig) and copies.get("index") is not None:
        nodes.append(("copy_detection.index", copies.index))
    return nodes
