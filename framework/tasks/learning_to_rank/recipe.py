"""The learning_to_rank recipe: candidate lists per query -> a ranker -> each list sorted, scored per query.

1. data: source -> split (whole queries, or by time) -> encoded padded lists (RankingDataModule); the
   ablation's feature groups (`ltr.drop_groups`) are left out before the model is built
2. model: a network trains through Lightning on whole lists with `ltr.loss` (LTRTask), checkpointed and
   resumable like every run; gradient-boosted trees (`model=lightgbm`) are fit by LightGBM, with early
   stopping on the validation lists, and saved as `model.txt` in the run directory; a single feature
   (`model=event_popularity`) is the baseline without training
3. evaluation: every validation and test list sorted by score, scored by the eval suite (nDCG@k, MAP@k,
   MRR); queries without a relevant candidate are skipped and counted (`queries_without_positive`)
4. serving: the latency of one request (one user's candidate list scored and sorted), against the budget
5. predictions: a source's unlabelled rows (Kaggle's test.csv) ranked per user into `predictions.csv`
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from torchmetrics import Metric

from framework.data import prepared
from framework.data.ranking.datamodule import RankingDataModule
from framework.metrics.suite import compute_once
from framework.metrics.topk import max_k
from framework.serving.latency import measure_latency
from framework.tasks.learning_to_rank.evaluation import best_first, ranked_lists
from framework.tasks.learning_to_rank.module import LTRTask, list_scores
from framework.tasks.result import RecipeResult
from framework.tracking.records import atomic_file
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories


def load_data(cfg: DictConfig) -> RankingDataModule:
    """Read, split, encode (or load from the cache) and leave out the ablation's groups, before any
    tracker starts: an unknown group stops the run here."""
    data = prepared(RankingDataModule, cfg)
    data.keep_groups(list(cfg.ltr.drop_groups))
    missing = data.info.get("source_info", {}).get("missing_features") or {}
    if missing:
        Console(stderr=True).print(
            f"[yellow]{cfg.dataset.name}: {len(missing)} feature(s) have no values and carry nothing: "
            + "; ".join(f"{name} ({why})" for name, why in missing.items())
            + "[/]"
        )
    empty = data.info.get("queries_without_positive", {})
    if any(empty.get(p) for p in ("valid", "test")):
        Console(stderr=True).print(
            f"[yellow]{cfg.dataset.name}: {empty.get('valid', 0)} validation and {empty.get('test', 0)} test "
            f"queries have no relevant candidate; the metrics skip them (LightGBM's own NDCG would count "
            f"each as 1).[/]"
        )
    return data


def _flat(lists: dict[str, np.ndarray]) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Padded lists -> (categorical, numeric, label) rows grouped by query, and the list sizes."""
    mask = lists["mask"]
    rows = (lists["categorical"][mask], lists["numeric"][mask], lists["label"][mask])
    return rows, mask.sum(1)


def _padded_scores(model: Any, lists: dict[str, np.ndarray], *rounds: int) -> torch.Tensor:
    """[Q, L] scores of a model fit outside Lightning (-inf on padding); trees: of their first `rounds`."""
    mask = lists["mask"]
    scores = np.full(mask.shape, -np.inf)
    scores[mask] = model.predict(lists["categorical"][mask], lists["numeric"][mask], *rounds)
    return torch.from_numpy(scores)


def _evaluate(metrics: dict[str, Metric], scores: torch.Tensor, lists: dict[str, np.ndarray], catalog: int) -> dict:
    t = {k: torch.from_numpy(lists[k]) for k in ("label", "mask", "item")}
    return compute_once(metrics, ranked_lists(scores, t["label"], t["mask"], t["item"], max_k(metrics), catalog))


def _fit_trees(ctx: RunContext, model: Any, data: RankingDataModule, metrics: dict[str, Metric]) -> dict[str, Any]:
    """Trees grown by LightGBM, early-stopped on the validation lists; the suite's validation metrics
    every few rounds are the run's training curve."""
    train, train_groups = _flat(data.lists["train"])
    valid, valid_groups = _flat(data.lists["valid"])
    with ctx.timer("fit"):
        model.fit(train, train_groups, valid, valid_groups, int(ctx.cfg.seed))
    seconds = ctx.timer.seconds["fit"]
    catalog, lists = _catalog_size(data), data.lists
    step = max(1, model.rounds_grown // 25)
    history = [
        {
            "epoch": r,
            **{
                f"val/{k}": v
                for k, v in _evaluate(
                    metrics, _padded_scores(model, lists["valid"], r), lists["valid"], catalog
                ).items()
            },
        }
        for r in range(step, model.rounds_grown + 1, step)
    ]
    val = _evaluate(metrics, _padded_scores(model, lists["valid"]), lists["valid"], catalog)
    with ctx.timer("test"):
        test = _evaluate(metrics, _padded_scores(model, lists["test"]), lists["test"], catalog)
    path = model.save(ctx.run_dir / "model.txt")
    return {
        "metrics": {**{f"val/{k}": v for k, v in val.items()}, **{f"test/{k}": v for k, v in test.items()}},
        "epochs": model.best_iteration,  # boosting rounds kept
        "history": history,
        "samples_per_s": len(train[2]) * model.rounds_grown / seconds if seconds > 0 else None,
        "checkpoints": {"best": str(path)},
        "parameters": model.parameter_count(),
        "lightgbm_curve": model.lightgbm_curve,
    }


def _evaluate_untrained(ctx: RunContext, model: Any, data: RankingDataModule, metrics: dict[str, Metric]) -> dict:
    """A baseline without parameters (one feature as the score) is evaluated as it is."""
    catalog, lists = _catalog_size(data), data.lists
    with ctx.timer("evaluate"):
        val = _evaluate(metrics, _padded_scores(model, lists["valid"]), lists["valid"], catalog)
        test = _evaluate(metrics, _padded_scores(model, lists["test"]), lists["test"], catalog)
    return {
        "metrics": {**{f"val/{k}": v for k, v in val.items()}, **{f"test/{k}": v for k, v in test.items()}},
        "epochs": 0,
        "history": [],
        "samples_per_s": None,  # nothing trains
        "checkpoints": {},
        "parameters": 0,
    }


def _fit_network(ctx: RunContext, model: Any, data: RankingDataModule, metrics: dict[str, Metric]) -> dict | None:
    cfg = ctx.cfg
    task = LTRTask(
        model,
        metrics,
        str(cfg.ltr.loss),
        _catalog_size(data),
        **optimizer_factories(cfg.optim),
        monitor=f"val/{cfg.eval.monitor}",
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    return {**fit_outcome(ctx, result), "parameters": parameter_count(model)}


def _catalog_size(data: RankingDataModule) -> int:
    return int(max(int(lists["item"].max()) for lists in data.lists.values())) + 1


class _Ranker:
    """What serving and predictions call: a function of encoded rows -> scores, for both model kinds."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.network = isinstance(model, torch.nn.Module)
        if self.network:
            model.cpu().eval()

    def __call__(self, lists: dict[str, np.ndarray], queries: np.ndarray) -> torch.Tensor:
        part = {k: lists[k][queries] for k in ("categorical", "numeric", "mask")}
        if not self.network:
            return _padded_scores(self.model, part)
        with torch.no_grad():
            batch = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in part.items()}
            return list_scores(self.model, batch).double().masked_fill(~batch["mask"], float("-inf"))


def _serving(ranker: _Ranker, data: RankingDataModule, cfg: DictConfig) -> dict[str, Any]:
    lists = data.lists["test"]
    picks = np.random.default_rng(int(cfg.seed)).integers(0, len(lists["query"]), size=100_000)

    def request(i: int) -> None:
        scores = ranker(lists, picks[i : i + 1])
        torch.argsort(scores, dim=1, descending=True)

    stats = measure_latency(request, int(cfg.case.serving.latency_requests))
    budget = float(cfg.case.design.latency_budget_ms)
    widths = lists["mask"].sum(1)
    return {
        **stats,
        "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget,
        "request": f"one user's candidate list scored and sorted (mean {widths.mean():.1f} candidates)",
    }


def _write_predictions(ranker: _Ranker, data: RankingDataModule, ctx: RunContext) -> str | None:
    """Each unlabelled query's candidates, best first: `query,items` (items space-separated), as the
    Kaggle challenge's submission file."""
    lists = data.lists.get("predict")
    if lists is None:
        return None
    scores = ranker(lists, np.arange(len(lists["query"])))
    order = best_first(scores, torch.from_numpy(lists["item"])).numpy()  # ties as the metrics order them
    lines = ["query,items"]
    for q, row in enumerate(order):
        items = lists["item"][q][row][lists["mask"][q][row]]
        lines.append(f"{lists['query'][q]}," + " ".join(str(i) for i in items))
    path = ctx.run_dir / "predictions.csv"
    with atomic_file(path) as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


def run_case(ctx: RunContext, data: RankingDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    trainable = bool(getattr(model, "trainable", True))
    if isinstance(model, torch.nn.Module):
        done = _fit_network(ctx, model, data, metrics)
    else:
        done = (_fit_trees if trainable else _evaluate_untrained)(ctx, model, data, metrics)
    if done is None:
        return None
    out: dict[str, float] = done["metrics"]
    ranker = _Ranker(model)
    with ctx.timer("serving"):
        serving = _serving(ranker, data, cfg)
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    predictions = _write_predictions(ranker, data, ctx) if ctx.rank_zero else None
    return RecipeResult.from_outcome(
        done,  # its metrics, with the serving figures added
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "feature_groups": data.groups,
            "parameters": done["parameters"],
            "predictions": predictions,
            "trained": trainable,  # networks by Lightning, trees by LightGBM; a one-feature baseline learns nothing
            **({"lightgbm_curve": done["lightgbm_curve"]} if "lightgbm_curve" in done else {}),
        },
    )
