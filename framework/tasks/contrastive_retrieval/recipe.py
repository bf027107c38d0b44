"""The contrastive retrieval recipe: catalogue -> encoder(s) -> full-ranking search metrics -> index -> serving.

1. data: source -> split by item (instance / video) -> arrays (RetrievalDataModule), before any tracker
2. model: a trainable encoder (CNN; text + video encoders) trains through Lightning with the `contrastive`
   node's loss, checkpointed on the eval suite's monitored metric, the best checkpoint tested; an encoder
   without gradient training (raw pixels, PCA) is fitted on the train images and evaluated as it is
3. the case's own evaluation on the test split (`images.py`: near-duplicate search and the index;
   `videos.py`: the visual, text (BM25) and fused channels)
4. serving: one query at a time on CPU, end to end (encode, index, top k; fusion for video search), vs budget
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf
from torchmetrics import Metric

from framework.data import prepared
from framework.data.retrieval.datamodule import RetrievalDataModule, RetrievalSpec
from framework.errors import ConfigError
from framework.tasks.contrastive_retrieval.config import settings
from framework.tasks.contrastive_retrieval.evaluation import evaluate_scores, image_gains
from framework.tasks.contrastive_retrieval.module import ContrastiveTask, Objective
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories


def load_data(cfg: DictConfig) -> RetrievalDataModule:
    """Read, check, split and encode, before any tracker starts."""
    return prepared(RetrievalDataModule, cfg)


def build_model(cfg: DictConfig, spec: RetrievalSpec) -> torch.nn.Module:
    """The encoder of `cfg.model` for this data; a classifier head only when the loss trains one."""
    target = get_object(str(cfg.model._target_))
    if getattr(target, "modality", spec.modality) != spec.modality:
        raise ConfigError(
            f"Model {target.__name__} encodes {target.modality}, but dataset '{cfg.dataset.name}' holds "
            f"{spec.modality}: pick a model for {spec.modality} (see conf/model/*.yaml) or another dataset."
        )
    extra: dict[str, Any] = {"feature_spec": spec}  # after instantiate: it would turn the dataclass into a dict
    if "n_classes" in inspect.signature(target).parameters:
        extra["n_classes"] = spec.n_classes if settings(cfg).loss == "classifier" else None
    return instantiate(cfg.model, _partial_=True, _convert_="all")(**extra)


def _objective(cfg: DictConfig) -> Objective:
    c = settings(cfg)
    return Objective(
        c.loss, c.temperature, c.margin, c.mining, c.instance_weight, c.reversal_weight, tuple(c.order_words)
    )


def _augmentation(cfg: DictConfig):
    from framework.tasks.contrastive_retrieval.images import augmentation

    return augmentation(settings(cfg).augment)


def _train(ctx: RunContext, model: torch.nn.Module, data: RetrievalDataModule, metrics: dict[str, Metric]):
    cfg = ctx.cfg
    task = ContrastiveTask(
        model,
        metrics,
        data,
        _objective(cfg),
        **optimizer_factories(OmegaConf.create(OmegaConf.to_container(cfg.optim, resolve=True))),
        monitor=f"val/{cfg.eval.monitor}",
        augment=_augmentation(cfg) if data.spec.modality == "images" else None,
        seed=int(cfg.seed),
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    return fit_outcome(ctx, result)


def _evaluate_untrained(ctx: RunContext, model: torch.nn.Module, data: RetrievalDataModule, metrics: dict[str, Metric]):
    """An encoder without gradient training (raw pixels, PCA): fitted on the train images, then scored."""
    from framework.tasks.contrastive_retrieval import images

    with ctx.timer("fit"):
        model.fit(images.as_float(data.array("train", "images")))
    out: dict[str, float] = {}
    with ctx.timer("evaluate"), torch.no_grad():
        for part, prefix in (("valid", "val"), ("test", "test")):
            vectors = images.embed(model, data.array(part, "images"))
            gains, exclude = image_gains(torch.from_numpy(data.array(part, "classes")))
            scores = evaluate_scores(metrics, vectors @ vectors.T, gains, exclude)
            out.update({f"{prefix}/{k}": v for k, v in scores.items()})
    return {"metrics": out, "epochs": 0, "history": [], "samples_per_s": None, "checkpoints": {}}


def run_case(ctx: RunContext, data: RetrievalDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    model = build_model(cfg, data.spec)
    trainable = bool(getattr(model, "trainable", True))
    done = _train(ctx, model, data, metrics) if trainable else _evaluate_untrained(ctx, model, data, metrics)
    if done is None:
        return None
    model.cpu().eval()
    if data.spec.modality == "images":
        from framework.tasks.contrastive_retrieval import images as case
    else:
        from framework.tasks.contrastive_retrieval import videos as case
    with ctx.timer("search"), torch.no_grad():
        extra_metrics, record = case.evaluate_test(model, data, cfg, metrics)
    out: dict[str, float] = done["metrics"]
    out.update(extra_metrics)
    with ctx.timer("serving"), torch.inference_mode():
        serving = case.serving(model, data, cfg)
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult.from_outcome(
        done,
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "search": record,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "parameters": parameter_count(model),
            "trained": trainable,
        },
    )
