"""The multi_label recipe: posts -> a classifier with a probability per harm class -> per-class quality,
the review queue's operating point, and per-post latency.

1. data: source -> stratified split -> tokens and standardised features (PostDataModule); `multi_label.classes`
   keeps a subset; a class without a positive in a split, or an eval metric of a class the data lacks,
   stops the run before training; `imbalance=downsample` keeps a share of the all-negative train posts
2. model: a network (`model=multimodal`, `text_encoder`) trains through Lightning (MultiLabelTask), with
   checkpoints and early stopping on the suite's monitor; `model=tfidf_lr` is fit by scikit-learn
3. evaluation: the eval suite on validation and test (per class PR-AUC, ROC-AUC, recall at the queue's
   precision, predicted / true prevalence; Davidson: weighted and macro F1, the hate class)
4. serving: per-post latency against the budget; the review queue: each class's threshold is set on
   validation for `multi_label.target_precision`, and the share of test posts it flags (any class) times
   `multi_label.posts_per_hour` is the queue's inflow
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from torchmetrics import Metric

from framework.data import prepared
from framework.data.moderation.datamodule import PostDataModule
from framework.errors import ConfigError
from framework.metrics.multilabel import LabelOutputs
from framework.metrics.suite import compute_once
from framework.serving.latency import measure_latency
from framework.tasks.multi_label.module import ClassProbabilities, MultiLabelTask
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories

EXCLUSIVE_METRICS = ("ExclusiveF1", "ExclusiveScore")


def load_data(cfg: DictConfig) -> PostDataModule:
    """Read, split, encode (or load from the cache), keep the classes asked for, and check them against the
    splits and the eval suite; downsample the negatives when asked: before any tracker starts."""
    data = prepared(PostDataModule, cfg)
    has = list(data.classes)
    exclusive = data.exclusive
    node = cfg.multi_label
    if node.classes is not None:
        data.keep_classes(list(node.classes))
    data.info["metrics_skipped"] = _check_suite(cfg, has, list(data.classes), exclusive and data.exclusive)
    data.check_positives()
    rates = [1.0] * len(data.classes)
    if node.imbalance == "downsample":
        rates = list(data.downsample_negatives(float(node.negative_rate)).values())
    data.info["kept_negative_rate"] = dict(zip(data.classes, rates, strict=True))
    missing = [m for m in ("image", "author") if not getattr(data.spec, f"{m}_dim")]
    if missing and str(cfg.model._target_).endswith("MultimodalClassifier"):
        Console(stderr=True).print(
            f"[yellow]{cfg.dataset.name} has no {' or '.join(missing)} features: the model fuses what there is "
            f"(text).[/]"
        )
    return data


def _metric_classes(node: DictConfig) -> list[str]:
    return [str(c) for c in (node.get("task"), *(node.get("tasks") or [])) if c is not None]


def _check_suite(cfg: DictConfig, has: list[str], kept: list[str], exclusive: bool) -> list[str]:
    """Every metric reads classes the data has, and one-of metrics need one-of classes (Davidson): else a
    ConfigError before training. Metrics of classes `multi_label.classes` leaves out are skipped (and named),
    unless one is the monitor."""
    skipped = []
    for name, node in cfg.eval.metrics.items():
        target = str(node._target_).rsplit(".", 1)[-1]
        if target in EXCLUSIVE_METRICS and not exclusive:
            raise ConfigError(
                f"eval metric '{name}' ({target}) scores one-of classes, but the classes of '{cfg.dataset.name}' "
                f"as trained ({', '.join(kept)}) are not exclusive. Use eval=moderation or eval=jigsaw."
            )
        for c in _metric_classes(node):
            if c not in has:
                raise ConfigError(
                    f"eval metric '{name}' reads class '{c}', which dataset '{cfg.dataset.name}' does not have (its "
                    f"classes: {', '.join(has)}). Use the eval suite of this dataset (eval=moderation, eval=jigsaw, "
                    f"eval=davidson) or drop the metric."
                )
            if c not in kept:
                if name == cfg.eval.monitor:
                    raise ConfigError(
                        f"the monitored metric '{name}' reads class '{c}', which multi_label.classes leaves out: keep "
                        f"the class, or monitor another metric (eval.monitor=mean_pr_auc)."
                    )
                skipped.append(str(name))
                break
    if skipped:
        Console(stderr=True).print(
            f"[yellow]multi_label.classes leaves out the classes of {len(skipped)} metric(s): {', '.join(skipped)}.[/]"
        )
    return skipped


def _probabilities(scorer: ClassProbabilities, table: Any, batch: int = 8192) -> np.ndarray:
    scorer = scorer.cpu().eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(table), batch):
            b = table[slice(start, start + batch)]
            out.append(scorer(b["tokens"], b["image"], b["author"]).numpy())
    return np.concatenate(out)


def operating_point(val_p: np.ndarray, val_y: np.ndarray, target: float) -> float:
    """The lowest threshold whose validation precision is at least `target` (the highest recall there);
    +inf when none reaches it (the class flags nothing)."""
    order = np.argsort(-val_p, kind="stable")
    p, y = val_p[order], val_y[order]
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    last = np.r_[p[1:] != p[:-1], True]  # a threshold admits every post tied with it
    ok = np.flatnonzero((precision >= target) & last & (tp > 0))
    return float(p[ok[-1]]) if len(ok) else math.inf


def review_queue(
    classes: tuple[str, ...], val: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], node: DictConfig
) -> dict[str, Any]:
    """Per class: the validation threshold for the target precision, and on test its precision, recall and
    the posts per hour it flags; the queue's inflow (posts flagged by any class not in `benign`)."""
    target, volume = float(node.target_precision), int(node.posts_per_hour)
    flagged_any = np.zeros(len(test[0]), bool)
    per_class = {}
    for c, name in enumerate(classes):
        threshold = operating_point(val[0][:, c], val[1][:, c], target)
        flagged = test[0][:, c] >= threshold
        if name not in node.benign:  # a benign class (Davidson's neither) is scored, never sent to review
            flagged_any |= flagged
        tp = float((flagged & (test[1][:, c] > 0)).sum())
        per_class[name] = {
            "threshold": threshold if math.isfinite(threshold) else None,
            "test_precision": tp / float(flagged.sum()) if flagged.any() else None,
            "test_recall": tp / max(1.0, float(test[1][:, c].sum())),
            "posts_per_hour": round(float(flagged.mean()) * volume, 1),
        }
    return {
        "target_precision": target,
        "posts_scored_per_hour": volume,
        "queue_posts_per_hour": round(float(flagged_any.mean()) * volume, 1),
        "flagged_share": float(flagged_any.mean()),
        "per_class": per_class,
    }


def _fit_network(ctx: RunContext, data: PostDataModule, metrics: dict[str, Metric]) -> dict[str, Any] | None:
    cfg, node = ctx.cfg, ctx.cfg.multi_label
    heads = list(data.classes)
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec, heads=heads)
    label = data.labels("train")
    positives = label.sum(0)
    task = MultiLabelTask(
        model,
        metrics,
        heads,
        str(node.imbalance),
        float(node.focal_gamma),
        pos_weight=((len(label) - positives) / np.maximum(positives, 1)).tolist(),
        logit_shift=[math.log(r) for r in data.info["kept_negative_rate"].values()],
        **optimizer_factories(cfg.optim),
        monitor=f"val/{cfg.eval.monitor}",
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    done = fit_outcome(ctx, result)
    scorer = task.scorer
    probs = {p: _probabilities(scorer, data.tensors(p)) for p in ("valid", "test")}
    table = data.tensors("test")

    def request(i: int) -> None:
        row = table[slice(i % len(table), i % len(table) + 1)]
        with torch.inference_mode():
            scorer(row["tokens"], row["image"], row["author"])

    return {**done, "probs": probs, "request": request, "parameters": parameter_count(model), "trained": True}


def _fit_sklearn(ctx: RunContext, data: PostDataModule, metrics: dict[str, Metric]) -> dict[str, Any]:
    """The TF-IDF baseline, fit by scikit-learn on the train texts (downsampled ones when asked, then
    recalibrated); the suite on validation and test."""
    cfg, node = ctx.cfg, ctx.cfg.multi_label
    heads = list(data.classes)
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec, heads=heads)
    with ctx.timer("fit"):
        texts = data.texts("train")
        model.fit(texts, data.labels("train"), "balanced" if node.imbalance == "class_weight" else None, int(cfg.seed))
    shift = np.log(np.asarray(list(data.info["kept_negative_rate"].values())))
    probs, out = {}, {}
    with ctx.timer("test"):
        for part, prefix in (("valid", "val"), ("test", "test")):
            p = model.predict(data.texts(part))
            if node.imbalance == "downsample":  # sigmoid(logit + log r)
                logit = np.log(np.clip(p, 1e-12, 1.0)) - np.log(np.clip(1.0 - p, 1e-12, 1.0))
                p = 1.0 / (1.0 + np.exp(-(logit + shift)))
            probs[part] = p.astype(np.float32)
            outputs = LabelOutputs.of(
                tuple(heads), torch.from_numpy(probs[part]), torch.from_numpy(data.rows[part]["label"])
            )
            out.update({f"{prefix}/{k}": v for k, v in compute_once(metrics, outputs).items()})
    seconds = ctx.timer.seconds["fit"]
    sample = data.texts("test")

    def request(i: int) -> None:
        model.predict([sample[i % len(sample)]])

    return {
        "metrics": out,
        "epochs": 1,
        "history": [{"epoch": 0, **{k: v for k, v in out.items() if k.startswith("val/")}}],
        "samples_per_s": len(texts) / seconds if seconds > 0 else None,
        "checkpoints": {},
        "probs": probs,
        "request": request,
        "parameters": model.parameter_count(),
        "trained": True,
    }


def run_case(ctx: RunContext, data: PostDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    metrics = {name: m for name, m in metrics.items() if name not in data.info["metrics_skipped"]}
    network = not str(cfg.model._target_).endswith("TfidfLogistic")
    done = _fit_network(ctx, data, metrics) if network else _fit_sklearn(ctx, data, metrics)
    if done is None:
        return None
    with ctx.timer("serving"):
        stats = measure_latency(done["request"], int(cfg.case.serving.latency_requests))
        budget = float(cfg.case.design.latency_budget_ms)
        serving = {
            **stats,
            "budget_ms": budget,
            "within_budget": stats["p99_ms"] <= budget,
            "request": "one post scored for every class (its text, image and author features)",
            "device": "cpu",
            "threads": torch.get_num_threads(),
        }
        queue = review_queue(
            data.classes,
            (done["probs"]["valid"], data.rows["valid"]["label"]),
            (done["probs"]["test"], data.rows["test"]["label"]),
            cfg.multi_label,
        )
    out: dict[str, float] = done["metrics"]
    out.update(
        {
            "serving/p50_ms": serving["p50_ms"],
            "serving/p99_ms": serving["p99_ms"],
            "serving/queue_posts_per_hour": queue["queue_posts_per_hour"],
        }
    )
    if ctx.verbose:
        Console().print(
            f"review queue at precision >= {queue['target_precision']:.2f}: "
            f"{queue['queue_posts_per_hour']:,.0f} posts/hour of {queue['posts_scored_per_hour']:,} scored "
            f"(per class: " + ", ".join(f"{c} {v['posts_per_hour']:,.0f}" for c, v in queue["per_class"].items()) + ")"
        )
    return RecipeResult.from_outcome(
        done,
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "review_queue": queue,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "classes": list(data.classes),
            "imbalance": str(cfg.multi_label.imbalance),
            "parameters": done["parameters"],
            "trained": done["trained"],
        },
    )
