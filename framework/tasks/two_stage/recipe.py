"""The two_stage recipe: candidate generation, then ranking, evaluated end to end.

1. data: interactions -> positives -> split (InteractionDataModule)
2. stage 1: retrieval model + RetrievalTask (loss, negatives) -> fit/test with full-ranking metrics
   (`retrieval/val/*`, `retrieval/test/*`, suite `retrieval.eval`)
3. index: the item vectors in the configured index; its recall against exact search (`index/recall@K`)
4. candidates: K per user through the index, seen items dropped; stage-1 recall@K (`candidates/*`)
5. stage 2: the ranker learns to re-order validation candidates; the re-ranked lists are scored by the
   main eval suite (`val/*`, `test/*`: the system's metrics). Without a ranker (`ranker=null`) the
   candidates' own order is the final list.
6. serving: per-request latency of each stage and end to end, against the case's budget
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data import prepared
from framework.data.interactions.datamodule import InteractionDataModule
from framework.metrics.suite import build_metrics
from framework.serving.retriever import Retriever
from framework.tasks.result import RecipeResult
from framework.tasks.two_stage.evaluation import candidate_lists, candidate_recall, evaluate_lists
from framework.tasks.two_stage.ranker_features import RankerFeatures
from framework.tasks.two_stage.ranking import RankerTask
from framework.tasks.two_stage.report import print_two_stage_report
from framework.tasks.two_stage.rerank_data import RerankDataModule
from framework.tasks.two_stage.retrieval import PREFIX, Objective, RetrievalTask
from framework.tasks.two_stage.serving import two_stage_latency
from framework.training.loop import RunContext, StageResult, fit_and_test, parameter_count
from framework.training.optimizers import optimizer_factories, sparse_embeddings


def _stage_metrics(result: StageResult, prefix: str) -> dict[str, float]:
    out = {k: v for k, v in result.best.items() if k.startswith(f"{prefix}val/")}
    out.update({k: v for k, v in result.test.items() if k.startswith(f"{prefix}test/")})
    return out


def _stage_record(result: StageResult) -> dict[str, Any]:
    return {
        "epochs": result.epochs,
        "samples_per_s": result.samples_per_s,
        "best_checkpoint": result.best_checkpoint,
        "history": result.history,
    }


def _train_retrieval(ctx: RunContext, data: InteractionDataModule) -> tuple[RetrievalTask, StageResult]:
    cfg = ctx.cfg
    r = cfg.retrieval
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    if hasattr(model, "set_history"):  # a user tower that reads the user's training history
        model.set_history(data.sets["train"].indptr, data.sets["train"].indices)
    objective = Objective(r.loss, r.negatives, r.num_negatives, r.logq_correction, r.temperature, r.embedding_l2)
    task = RetrievalTask(
        model,
        build_metrics(r.eval),
        data,
        objective,
        **optimizer_factories(cfg.optim),
        monitor=f"{PREFIX}val/{r.eval.monitor}",
        sparse_embeddings=sparse_embeddings(cfg),
    )
    result = fit_and_test(ctx, task, data, stage="retrieval", monitor=f"{PREFIX}val/{r.eval.monitor}", mode=r.eval.mode)
    return task, result


def _train_ranker(
    ctx: RunContext, metrics: dict[str, Metric], data: InteractionDataModule, candidates: dict, features: RankerFeatures
) -> tuple[RankerTask, RerankDataModule, StageResult]:
    cfg = ctx.cfg
    rerank_data = RerankDataModule(
        candidates["valid"],
        data.sets["valid"],
        candidates["test"],
        data.sets["test"],
        cfg.ranking.val_fraction,
        cfg.ranking.batch_size,
        cfg.dataset.eval_batch_size,
        cfg.seed,
    )
    train = rerank_data.tables["train"].tensors
    features.fit(train["user"], train["items"], train["scores"])
    ranker = instantiate(cfg.ranker, _partial_=True, _convert_="all")(feature_spec=features.spec)
    optimizer = instantiate(cfg.optim.optimizer, _partial_=True, _convert_="all", lr=cfg.ranking.lr)
    loss = cfg.ranking.get("loss", "listwise")
    task = RankerTask(ranker, metrics, features, data.item_tags, optimizer, sparse_embeddings(cfg), loss=loss)
    result = fit_and_test(
        ctx,
        task,
        rerank_data,
        stage="ranking",
        max_epochs=cfg.ranking.max_epochs,
        patience=cfg.ranking.get("patience"),
    )
    return task, rerank_data, result


def load_data(cfg: DictConfig) -> InteractionDataModule:
    """Read, check and encode the dataset (or load it from the cache), before any tracker starts."""
    return prepared(InteractionDataModule, cfg)


def run_case(ctx: RunContext, data: InteractionDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    """Both stages, evaluated end to end and timed (None on non-zero DDP ranks, which record nothing)."""
    cfg = ctx.cfg
    k = int(cfg.case.serving.candidates_per_request)
    spec = data.spec
    retrieval_task, stage1 = _train_retrieval(ctx, data)
    if not stage1.is_global_zero and cfg.get("ranker") is None:
        return None  # under DDP the other ranks stay until stage 2 has trained: its Trainer needs them all
    out: dict[str, float] = _stage_metrics(stage1, PREFIX)

    with ctx.timer("index"):
        retriever = Retriever(retrieval_task.model, data.users, data.items, instantiate(cfg.index))
        out[f"index/recall@{k}"] = retriever.recall_against_exact(data.eval_users("test")[:2000], k)
    with ctx.timer("candidates"):
        candidates = {s: retriever.candidates(data.eval_users(s), data.history(s), k) for s in ("valid", "test")}
    for split in ("valid", "test"):
        out[f"candidates/{split}/recall@{k}"] = candidate_recall(candidates[split], data.sets[split])
    for name, value in evaluate_lists(
        metrics, candidate_lists(candidates["test"], data.sets["test"], data.item_tags)
    ).items():
        out[f"candidates/test/{name}"] = value

    stages = {"retrieval": _stage_record(stage1)}
    ranker_parts, ranker_params, ranking_info = None, 0, None
    if cfg.get("ranker") is None:  # the candidates' own order is what the system serves
        for split in ("valid", "test"):
            lists = candidate_lists(candidates[split], data.sets[split], data.item_tags)
            out.update(
                {f"{'val' if split == 'valid' else split}/{n}": v for n, v in evaluate_lists(metrics, lists).items()}
            )
    else:
        ranker_task, rerank_data, stage2 = _train_ranker(ctx, metrics, data, candidates, RankerFeatures(data))
        if not stage2.is_global_zero:
            return None
        out.update(_stage_metrics(stage2, ""))
        stages["ranking"] = _stage_record(stage2)
        ranker_parts = (ranker_task.model, ranker_task.features)
        ranker_params = parameter_count(ranker_task.model)
        ranking_info = {**rerank_data.info, "feature_spec": ranker_task.features.spec.to_dict()}

    with ctx.timer("serving"):
        serving = two_stage_latency(
            retriever, data.history("test"), data.eval_users("test"), ranker_parts, cfg.case, cfg.seed
        )
    out.update(
        {f"serving/{s}_{p}": serving[s][p] for s in ("stage1", "stage2") if s in serving for p in ("p50_ms", "p99_ms")}
    )
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})

    last_stage = "ranking" if "ranking" in stages else "retrieval"
    result = RecipeResult(
        metrics=out,
        objective=out.get(f"val/{cfg.eval.monitor}"),
        epochs=stage1.epochs,
        history=[row for s in stages.values() for row in s["history"]],
        train_samples_per_s=stage1.samples_per_s,
        checkpoints={
            "best": stages[last_stage]["best_checkpoint"],
            "last": str(ctx.run_dir / "checkpoints" / last_stage / "last.ckpt"),
            **{f"{s}_best": v["best_checkpoint"] for s, v in stages.items()},
        },
        stages=stages,
        reported=ctx.verbose,
        extras={
            "serving": serving,
            "index": retriever.index.describe(),
            "data": data.info,
            "feature_spec": spec.to_dict(),
            "ranking_data": ranking_info,
            "parameters": parameter_count(retrieval_task.model) + ranker_params,
        },
    )
    if ctx.verbose:
        print_two_stage_report(cfg, result.record_fields(), k)
    return result
