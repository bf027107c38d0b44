"""The session_embedding recipe: click sessions -> listing vectors -> similar listings, evaluated and timed.

1. data: sessions -> clean (repeats, short sessions, rare items dropped and counted) -> time split
2. model: skip-gram trains through Lightning on the pairs its `skipgram` settings make; a baseline
   (popularity, co-visitation) is evaluated as it is (no training, no checkpoint)
3. evaluation: booked-listing ranks within the market and next-click ranks (`val/*`, `test/*`)
4. serving: one query listing -> its vector -> a faiss inner-product index over the unit vectors -> top k
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
from framework.data.batching import TensorTable
from framework.data.sessions.datamodule import SessionDataModule
from framework.data.sessions.pairs import skipgram_pairs
from framework.errors import DataError
from framework.serving.latency import measure_latency
from framework.tasks.result import RecipeResult
from framework.tasks.session_embedding.config import EXPECTED_MAX_ITEMS
from framework.tasks.session_embedding.evaluation import cold_start_neighbours, evaluate, wanted_queries
from framework.tasks.session_embedding.module import SkipGramTask
from framework.training.loop import RunContext, fit_and_test, parameter_count
from framework.training.optimizers import optimizer_factories, sparse_embeddings


def load_data(cfg: DictConfig) -> SessionDataModule:
    data = prepared(SessionDataModule, cfg)
    d = data.info["dropped"]
    Console(stderr=True).print(
        f"[yellow]{cfg.dataset.name}: dropped {d['sessions']} session(s) with one click (or one once rare items "
        f"were gone), {d['items']} item(s) seen fewer than {cfg.dataset.get('min_item_count') or 1} time(s), "
        f"{d['repeated_clicks']} repeated click(s) of the same item; "
        f"{data.info['dropped_unseen_item_clicks']} validation/test click(s) of items never seen in training.[/]"
    )
    queries = wanted_queries(cfg.eval.metrics)
    if queries & {"booking", "booking_cold"} and data.info["bookings"] == 0:
        raise DataError(
            f"The eval suite scores booked listings, but '{cfg.dataset.name}' has no bookings (clicks only). "
            f"Use eval=next_click (next-click HR@20 / MRR@20)."
        )
    if "booking_cold" in queries and not data.item_features:
        raise DataError(
            f"The eval suite scores cold-start vectors (booking_cold), which need listing attributes (market, "
            f"type, ...), but '{cfg.dataset.name}' has none. Use eval=next_click."
        )
    return data


def _serving(query_vectors: np.ndarray, item_vectors: np.ndarray, case: DictConfig, seed: int) -> dict[str, Any]:
    """p50/p99 of one request: the viewed listing's vector -> faiss inner-product search over the items'
    (unit vectors: cosine; context vectors: in-out)."""
    from framework.serving.index import FaissFlatIndex

    index = FaissFlatIndex()
    index.build(item_vectors)
    queries = np.random.default_rng(seed).integers(len(query_vectors), size=1000)
    k = int(case.serving.list_size)
    stats = measure_latency(
        lambda i: index.search(query_vectors[queries[i % 1000]][None], k + 1), int(case.serving.latency_requests)
    )
    budget = float(case.design.latency_budget_ms)
    return {
        **stats,
        "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget,
        "request": f"one listing's {k} most similar listings (faiss, {len(item_vectors)} listings)",
    }


def run_case(ctx: RunContext, data: SessionDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    market = data.item_features.get("market")
    trained = bool(getattr(model, "trainable", True))
    if trained:
        s = cfg.skipgram
        if int(s.market_negatives) > 0 and market is None:
            raise DataError(
                f"skipgram.market_negatives draws negatives from the center listing's market, but "
                f"'{cfg.dataset.name}' has no market per item. Set skipgram.market_negatives=0."
            )
        if str(s.negative_sampling) == "expected" and data.spec.n_items > EXPECTED_MAX_ITEMS:
            raise DataError(
                f"skipgram.negative_sampling=expected scores each batch's centers against all {data.spec.n_items} "
                f"items (at most {EXPECTED_MAX_ITEMS}). Use skipgram.negative_sampling=sampled."
            )
        center, context = skipgram_pairs(data.parts["train"], int(s.window), bool(s.global_context))
        data.pairs = TensorTable({"center": torch.from_numpy(center), "context": torch.from_numpy(context)})
        data.info["training_pairs"] = len(center)
        task = SkipGramTask(
            model,
            metrics,
            data,
            int(s.negatives),
            int(s.market_negatives),
            **optimizer_factories(cfg.optim),
            monitor=f"val/{cfg.eval.monitor}",
            sparse_embeddings=sparse_embeddings(cfg),
            negative_sampling=str(s.negative_sampling),
            shared_negatives=int(s.shared_negatives),
        )
        result = fit_and_test(ctx, task, data)
        if not result.is_global_zero:
            return None
        out = {k: v for k, v in result.best.items() if k.startswith("val/")}
        out.update({k: v for k, v in result.test.items() if k.startswith("test/")})
        epochs, history, rate = result.epochs, result.history, result.samples_per_s
        checkpoints = {"best": result.best_checkpoint, "last": str(ctx.run_dir / "checkpoints" / "last.ckpt")}
    else:
        with ctx.timer("evaluate"):
            scorer = model.scorer(data.parts["train"])
            nb = cold_start_neighbours(metrics, data.item_features, data.parts["train"], data.spec.n_items)
            out = {}
            for part, prefix in (("valid", "val"), ("test", "test")):
                values = evaluate(metrics, scorer, data.parts[part], market, nb)
                out.update({f"{prefix}/{k}": v for k, v in values.items()})
        epochs, history, rate, checkpoints = 0, [], None, {}
    serving = None
    with ctx.timer("serving"):
        if hasattr(model, "item_vectors"):
            vectors = model.query_vectors().cpu().numpy(), model.item_vectors().cpu().numpy()
            serving = _serving(*vectors, cfg.case, cfg.seed)
        else:  # a baseline scores all items per query: time one query's block
            scorer = model.scorer(data.parts["train"])
            queries = data.parts["test"].item
            stats = measure_latency(
                lambda i: scorer.scores(queries[i % len(queries)][None]), int(cfg.case.serving.latency_requests)
            )
            budget = float(cfg.case.design.latency_budget_ms)
            serving = {
                **stats,
                "budget_ms": budget,
                "within_budget": stats["p99_ms"] <= budget,
                "request": "one listing's scores against every listing",
            }
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult(
        metrics=out,
        objective=out.get(f"val/{cfg.eval.monitor}"),
        epochs=epochs,
        history=history,
        train_samples_per_s=rate,
        checkpoints=checkpoints,
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "parameters": parameter_count(model),
            "trained": trained,
        },
    )
