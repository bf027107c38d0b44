"""The multi_task recipe: feed rows with several reactions -> one network with a head per task -> the
feed ordered by the engagement score.

1. data: source -> split (by time, or whole requests) -> encoded rows sorted by request (FeedDataModule);
   `multi_task.tasks` keeps a subset of the data's tasks; weights and the eval suite are checked against
   the tasks the data has, before training
2. model: `model(feature_spec, heads)` (single_task: a network per task; shared_bottom, mmoe, ple) trains
   through Lightning on the weighted sum of per-task losses (FeedTask), checkpointed and resumable
3. evaluation: per task (ROC-AUC, PR-AUC, dwell error) and per request (nDCG of the feed sorted by the
   engagement score, hides at the top; MIND's per-impression AUC, MRR, nDCG@k)
4. serving: one request = `case.serving.candidates_per_request` candidate posts scored by every head,
   combined into the engagement score and sorted, against the latency budget
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from torch import nn
from torchmetrics import Metric

from framework.data import prepared
from framework.data.feed.datamodule import FeedDataModule
from framework.errors import ConfigError
from framework.metrics.feed import engagement_earned
from framework.serving.latency import row_scoring_latency
from framework.tasks.multi_task.module import FeedHeads, FeedTask
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories, sparse_embeddings


def load_data(cfg: DictConfig) -> FeedDataModule:
    """Read, split, encode (or load from the cache), keep the tasks asked for, and check that the weights
    and the eval suite name tasks the data has: before any tracker starts."""
    data = prepared(FeedDataModule, cfg)
    has = list(data.tasks)
    if cfg.multi_task.tasks is not None:
        data.keep_tasks(list(cfg.multi_task.tasks))
    data.info["weights_skipped"] = _check_weights(cfg, data)
    data.info["metrics_skipped"] = _check_suite(cfg, data, has)
    data.info["requests_without_engagement"] = _requests_without_engagement(cfg, data)
    return data


def _engagement_weights(cfg: DictConfig, tasks: Any) -> list[float]:
    """The engagement score's weight of each of `tasks`, in their order (0 where the config gives none)."""
    return [float(cfg.multi_task.engagement_weights.get(t, 0.0)) for t in tasks]


def _requests_without_engagement(cfg: DictConfig, data: FeedDataModule) -> dict[str, int]:
    """Evaluated requests whose posts earned no engagement (every gain 0): the feed metrics skip them."""
    weights = torch.tensor(_engagement_weights(cfg, data.tasks))
    out = {}
    for part in ("valid", "test"):
        rows = data.rows[part]
        gain = engagement_earned(torch.from_numpy(rows["label"]), torch.from_numpy(rows["observed"]), weights)
        starts = np.flatnonzero(np.r_[True, rows["query"][1:] != rows["query"][:-1]])
        out[part] = int((np.maximum.reduceat(gain.numpy(), starts) <= 0).sum())
    return out


def _check_weights(cfg: DictConfig, data: FeedDataModule) -> list[str]:
    """Weight keys the data has no task for: a misspelt task is an error, another case's task is skipped
    (and named: MIND has clicks only)."""
    skipped: list[str] = []
    for key in ("task_weights", "engagement_weights"):
        for task in cfg.multi_task[key]:
            if task in data.tasks:
                continue
            close = difflib.get_close_matches(str(task), list(data.tasks), n=1, cutoff=0.8)  # clik, not like
            if close:
                raise ConfigError(
                    f"multi_task.{key} names '{task}', which is not a task of the data. Did you mean '{close[0]}'?"
                )
            skipped.append(str(task))
    skipped = sorted(set(skipped))
    if skipped:
        Console(stderr=True).print(
            f"[yellow]{cfg.dataset.name}: the weights of {', '.join(skipped)} are unused: the tasks trained are "
            f"{', '.join(data.tasks)}.[/]"
        )
    if not any(_engagement_weights(cfg, data.tasks)):
        raise ConfigError(
            f"multi_task.engagement_weights gives every task of the data ({', '.join(data.tasks)}) weight 0: "
            f"the engagement score would not order the feed. Example: multi_task.engagement_weights.click=1"
        )
    return skipped


def _check_suite(cfg: DictConfig, data: FeedDataModule, has: list[str]) -> list[str]:
    """A metric of a task the data lacks (eval=feed on MIND) stops the run before training; the metrics of
    tasks left out by `multi_task.tasks` are skipped (named in the run record), unless it is the monitor."""
    skipped = []
    for name, node in cfg.eval.metrics.items():
        for task in [node.get("task"), node.get("reaction"), *(node.get("tasks") or [])]:
            if task is None or task in data.tasks:
                continue
            if task not in has:
                raise ConfigError(
                    f"eval metric '{name}' reads task '{task}', which dataset '{cfg.dataset.name}' does not have "
                    f"(its tasks: {', '.join(has)}). Use an eval suite for these tasks "
                    f"(dataset=mind: eval=mind) or drop the metric."
                )
            if name == cfg.eval.monitor:
                raise ConfigError(
                    f"the monitored metric '{name}' reads task '{task}', which multi_task.tasks leaves out: keep "
                    f"the task, or monitor another metric (eval.monitor=...)."
                )
            skipped.append(str(name))
            break
    if skipped:
        Console(stderr=True).print(f"[yellow]multi_task.tasks leaves out the tasks of {', '.join(skipped)}.[/]")
    return skipped


class FeedRanker(nn.Module):
    """What a feed request runs: every head on the candidates, the engagement score, the order."""

    def __init__(self, heads: FeedHeads) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        _, score = self.heads(categorical, numeric)
        return torch.argsort(score, descending=True)


def _task_setup(cfg: DictConfig, data: FeedDataModule) -> dict[str, Any]:
    node = cfg.multi_task
    heads = list(data.tasks)
    return {
        "heads": heads,
        "binary": [data.tasks[t] == "binary" for t in heads],
        "target_scale": [tuple(data.target_scale.get(t, (0.0, 1.0))) for t in heads],
        "task_weights": [float(node.task_weights.get(t, 1.0)) for t in heads],
        "engagement_weights": _engagement_weights(cfg, heads),
    }


def run_case(ctx: RunContext, data: FeedDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    metrics = {name: m for name, m in metrics.items() if name not in data.info["metrics_skipped"]}
    setup = _task_setup(cfg, data)
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec, heads=setup["heads"])
    task = FeedTask(
        model,
        metrics,
        **setup,
        **optimizer_factories(cfg.optim),
        monitor=f"val/{cfg.eval.monitor}",
        sparse_embeddings=sparse_embeddings(cfg),
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    done = fit_outcome(ctx, result)
    with ctx.timer("serving"):
        serving = row_scoring_latency(FeedRanker(task.scorer), data.tensors("test"), cfg.case, cfg.seed)
    serving["request"] = "candidate posts scored by every head, combined into the engagement score and sorted"
    out: dict[str, float] = done["metrics"]
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult.from_outcome(
        done,  # its metrics, with the serving figures added
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "heads": {t: data.tasks[t] for t in setup["heads"]},
            "task_weights": dict(zip(setup["heads"], setup["task_weights"], strict=True)),
            "engagement_weights": dict(zip(setup["heads"], setup["engagement_weights"], strict=True)),
            "parameters": parameter_count(model),
        },
    )
