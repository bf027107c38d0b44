"""The table of task kinds: what a case's `case.task` names, and where that kind's parts live.

Each kind is a package `framework/tasks/<kind>/` with
- `recipe.py`: `load_data(cfg)` (read, check, encode: before any tracker starts) and
  `run_case(ctx, data, metrics) -> RecipeResult` (model -> training -> evaluation -> serving);
- optionally `config.py`: the dataclass schemas of the config nodes the kind owns, and `check(cfg, problems)`
  for rules across nodes (read by `framework.schema` before anything heavy is imported).

The table holds plain strings so that importing it imports nothing heavy (`--help` and config errors
stay fast). Adding a kind = its package + one line here + its `conf/case/*.yaml` + its eval suite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskKind:
    recipe: str  # module with load_data(cfg) and run_case(ctx, data, metrics) -> RecipeResult
    reads: str  # the class name a dataset source returns for this kind (framework.data.*)
    reads_what: str  # the same, in words, for error messages
    config: str | None = None  # module with NODES, DATASET_KEYS and check(cfg, problems); None: no own nodes
    nodes: tuple[str, ...] = ()  # top-level config nodes only this kind reads (others get "applies to ... only")
    dataset_keys: tuple[str, ...] = ()  # dataset keys only this kind reads


KINDS: dict[str, TaskKind] = {
    "ctr": TaskKind(
        "framework.tasks.ctr.recipe",
        "RawTable",
        "rows of a click log",
        config="framework.tasks.ctr.config",
        dataset_keys=("negative_rate", "out_of_core", "chunk_rows"),
    ),
    "two_stage": TaskKind(
        "framework.tasks.two_stage.recipe",
        "InteractionTable",
        "user-item interactions",
        config="framework.tasks.two_stage.config",
        nodes=("retrieval", "index", "ranker", "ranking"),
        dataset_keys=("split_strategy", "positive_threshold"),
    ),
    "link_prediction": TaskKind(
        "framework.tasks.link_prediction.recipe",
        "EdgeList",
        "an edge list (a graph)",
        config="framework.tasks.link_prediction.config",
        nodes=("candidates", "link_training"),
        dataset_keys=("split_strategy", "eval_negatives"),
    ),
    "session_embedding": TaskKind(
        "framework.tasks.session_embedding.recipe",
        "SessionTable",
        "click sessions",
        config="framework.tasks.session_embedding.config",
        nodes=("skipgram",),
        dataset_keys=("min_item_count", "valid_days", "test_days"),
    ),
    "learning_to_rank": TaskKind(
        "framework.tasks.learning_to_rank.recipe",
        "QueryTable",
        "candidate rows grouped by query",
        config="framework.tasks.learning_to_rank.config",
        nodes=("ltr",),
        dataset_keys=("split_strategy",),
    ),
    "multi_task": TaskKind(
        "framework.tasks.multi_task.recipe",
        "FeedTable",
        "feed impressions with reaction labels",
        config="framework.tasks.multi_task.config",
        nodes=("multi_task",),
        dataset_keys=("split_strategy",),
    ),
    "detection": TaskKind(
        "framework.tasks.detection.recipe",
        "DetectionSet",
        "images with labelled boxes",
        config="framework.tasks.detection.config",
        nodes=("detection",),
        dataset_keys=("input_size",),
    ),
    "multi_label": TaskKind(
        "framework.tasks.multi_label.recipe",
        "PostTable",
        "posts with a 0/1 label per harm class",
        config="framework.tasks.multi_label.config",
        nodes=("multi_label",),
        dataset_keys=("max_tokens", "vocab_size"),
    ),
    "contrastive_retrieval": TaskKind(
        "framework.tasks.contrastive_retrieval.recipe",
        "RetrievalCorpus",
        "a catalogue of images, or of videos with texts",
        config="framework.tasks.contrastive_retrieval.config",
        nodes=("contrastive", "search", "index", "copy_detection"),
        dataset_keys=("max_tokens", "vocab_size"),
    ),
}


def kind_of_node(node: str) -> str | None:
    """The kind that owns a top-level config node (None: a node every run has, or an unknown one)."""
    return next((name for name, kind in KINDS.items() if node in kind.nodes), None)


def kind_node_names() -> list[str]:
    """Every kind's own nodes, in table order (e.g. to order report columns)."""
    return list(dict.fromkeys(node for kind in KINDS.values() for node in kind.nodes))  # index: two kinds read it
