"""The link_prediction recipe: the graph at t -> model -> the friendships of t+1, ranked per user.

1. data: edge list -> clean (self-loops, duplicates dropped and counted) -> split -> negatives (GraphDataModule)
2. model: a heuristic scores the graph as it is (no training, no checkpoint); node2vec fits its walks and
   skip-gram on it in seconds, outside Lightning; a trainable model (GNN) learns full batch through
   Lightning (`LinkPredictionTask`), checkpointed and resumable like every run
3. evaluation: pair metrics and per-user top-k lists over the candidates (`val/*`, `test/*`)
4. candidates: what friends-of-friends keeps (`candidates/test/fof_recall`) and saves (per-user counts)
5. serving: per-user latency of candidate generation + scoring + top k, against the case's budget
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from torchmetrics import Metric

from framework.data import prepared
from framework.data.graph.datamodule import GraphDataModule
from framework.data.graph.structure import GraphStructure
from framework.errors import DataError
from framework.tasks.link_prediction.evaluation import candidate_statistics, evaluate
from framework.tasks.link_prediction.module import LinkPredictionTask
from framework.tasks.link_prediction.serving import user_latency
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories


def load_data(cfg: DictConfig) -> GraphDataModule:
    """Read, clean, split (or load from the cache), before any tracker starts."""
    data = prepared(GraphDataModule, cfg)
    dropped = data.info["dropped"]
    if any(dropped.values()):
        Console(stderr=True).print(
            f"[yellow]{cfg.dataset.name}: dropped {dropped['self_loops']} self-loop(s) and "
            f"{dropped['duplicate_edges']} duplicate edge(s) (u-v and v-u are one friendship).[/]"
        )
    return data


def _train(ctx: RunContext, model: Any, data: GraphDataModule, metrics: dict[str, Metric]) -> dict[str, Any] | None:
    cfg = ctx.cfg
    t = cfg.link_training
    if t.targets == "latest" and data.split.graph_time is None:
        raise DataError(
            f"link_training.targets=latest hides the graph's newest edges, but '{cfg.dataset.name}' has no edge "
            f"times. Use link_training.targets=random, or a dataset with times (a SNAP file's third column)."
        )
    data.steps_per_epoch = int(t.steps_per_epoch)
    data.pairs_per_step = max(1, int(len(data.split.graph) * t.target_share)) * (1 + int(t.negatives_per_positive))
    task = LinkPredictionTask(
        model,
        metrics,
        data,
        str(cfg.candidates.strategy),
        float(t.target_share),
        int(t.negatives_per_positive),
        float(t.hard_negatives),
        str(t.loss),
        str(t.targets),
        **optimizer_factories(cfg.optim),
        monitor=f"val/{cfg.eval.monitor}",
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    return fit_outcome(ctx, result)


def _evaluate_untrained(
    ctx: RunContext, model: Any, data: GraphDataModule, structure: GraphStructure, metrics: dict[str, Metric]
) -> dict[str, Any]:
    """A heuristic is evaluated on the graph as it is; a model fit outside Lightning (node2vec: walks and
    skip-gram, seconds) is fit on it first."""
    split, strategy = data.split, str(ctx.cfg.candidates.strategy)
    if hasattr(model, "fit"):
        with ctx.timer("fit"):
            model.fit(structure, int(ctx.cfg.seed))
    with ctx.timer("evaluate"):
        scorer = model.scorer(structure)
        val = evaluate(metrics, scorer, structure, split.held_out["valid"], split.negatives["valid"], strategy)
        test = evaluate(
            metrics,
            scorer,
            structure,
            split.held_out["test"],
            split.negatives["test"],
            strategy,
            split.held_out["valid"],
        )
    return {
        "metrics": {**{f"val/{k}": v for k, v in val.items()}, **{f"test/{k}": v for k, v in test.items()}},
        "epochs": 0,
        "history": [],
        "samples_per_s": None,  # nothing trains through Lightning
        "checkpoints": {},
    }


def run_case(ctx: RunContext, data: GraphDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    split = data.split
    structure = GraphStructure.from_edges(split.graph.src, split.graph.dst, data.spec.n_nodes, data.node_features)
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    trainable = bool(getattr(model, "trainable", True))
    done = _train(ctx, model, data, metrics) if trainable else _evaluate_untrained(ctx, model, data, structure, metrics)
    if done is None:
        return None
    out: dict[str, float] = done["metrics"]
    with ctx.timer("candidates"):
        stats = candidate_statistics(structure, split.held_out["test"], split.held_out["valid"])
    out.update({f"candidates/test/{k}": v for k, v in stats.items()})
    with ctx.timer("serving"):
        model.cpu().eval()
        serving = user_latency(
            model.scorer(structure), structure, split.held_out["test"], str(cfg.candidates.strategy), cfg.case, cfg.seed
        )
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult.from_outcome(
        done,  # its metrics, with the serving figures added
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "parameters": parameter_count(model),
            "trained": trainable,
        },
    )
