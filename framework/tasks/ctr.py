"""Click-through-rate task: binary cross-entropy on logits, eval-suite metrics on probabilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.data.datamodule import TabularDataModule
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.pipeline_stages.serving import serving_latency
from framework.training import RunContext, fit_and_test, parameter_count


class CTRTask(L.LightningModule):
    """Wraps a ranking model `model(categorical, numeric) -> logits`.

    Logs train/loss per step, val/<metric> per epoch and test/<metric> at the end; metric names come
    from the eval suite. Training runs through `framework.training.fit_and_test`, whose `EpochSeed`
    callback makes the dropout masks of epoch k independent of a resume before it.
    """

    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/loss",
        sparse_embeddings: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.val_metrics = MetricCollection(dict(metrics), prefix="val/")
        self.test_metrics = self.val_metrics.clone(prefix="test/")
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["categorical"], batch["numeric"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(self(batch), batch["label"])
        n = len(batch["label"])
        self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=n)
        self.log("train/loss_epoch", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=n)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection, prefix: str) -> None:
        logits = self(batch)
        label = batch["label"]
        loss = F.binary_cross_entropy_with_logits(logits, label)
        self.log(f"{prefix}/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(label))
        metrics.update(torch.sigmoid(logits.float()), label.int())
        # Logging the Metric objects: Lightning computes them over the whole epoch (all ranks), then resets.
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics, "test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)


def sparse_embeddings(cfg: DictConfig) -> bool:
    """Sparse gradients unless DDP runs on GPUs (NCCL cannot all-reduce sparse tensors)."""
    if cfg.optim.sparse_embeddings is not None:
        return bool(cfg.optim.sparse_embeddings)
    gpu = str(cfg.trainer.accelerator) in ("gpu", "cuda")
    return not (gpu and "ddp" in str(cfg.trainer.strategy))


def optimizer_factories(optim: DictConfig) -> dict:
    """CTRTask's optimizer / scheduler arguments from the `optim` config node."""
    scheduler = optim.scheduler
    return {
        "optimizer": instantiate(optim.optimizer, _partial_=True, _convert_="all"),
        "scheduler": None
        if scheduler is None
        else instantiate(OmegaConf.masked_copy(scheduler, [k for k in scheduler if k != "interval"]), _partial_=True),
        "scheduler_interval": str(scheduler.get("interval", "epoch")) if scheduler is not None else "epoch",
    }


def run_case(ctx: RunContext, metrics: dict[str, Metric]) -> dict[str, Any] | None:
    """The CTR recipe: tabular data -> ranking model -> CTRTask -> fit/test -> serving latency.

    Returns the run record's fields (None on non-zero DDP ranks, which record nothing).
    """
    cfg = ctx.cfg
    with ctx.timer("data"):
        pin = str(cfg.trainer.accelerator) in ("gpu", "cuda")
        data = TabularDataModule(cfg.dataset, cfg.paths.cache_dir, cfg.seed, pin_memory=pin)
        spec = data.prepare()
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=spec)
    task = CTRTask(
        model, metrics, **optimizer_factories(cfg.optim), monitor=f"val/{cfg.eval.monitor}",
        sparse_embeddings=sparse_embeddings(cfg),
    )  # fmt: skip
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    with ctx.timer("serving"):
        serving = serving_latency(task.model, data.tables["test"], cfg.case, cfg.seed)
    metrics_out = {k: v for k, v in result.best.items() if k.startswith("val/")}
    metrics_out.update(result.test)
    metrics_out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return {
        "metrics": metrics_out, "objective_value": result.best.get(f"val/{cfg.eval.monitor}"),
        "train_samples_per_s": result.samples_per_s, "epochs": result.epochs, "history": result.history,
        "serving": serving, "data": data.info, "feature_spec": spec.to_dict(), "parameters": parameter_count(model),
        "checkpoints": {"best": result.best_checkpoint, "last": str(ctx.run_dir / "checkpoints" / "last.ckpt")},
    }  # fmt: skip
