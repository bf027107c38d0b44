"""The `optim` config node as what a task's LightningModule takes: optimizer / scheduler factories, and
whether embeddings get sparse gradients."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from framework.hardware import on_gpu


def sparse_embeddings(cfg: DictConfig) -> bool:
    """Sparse gradients unless DDP runs on GPUs (NCCL cannot all-reduce sparse tensors)."""
    if cfg.optim.sparse_embeddings is not None:
        return bool(cfg.optim.sparse_embeddings)
    return not (on_gpu(cfg) and "ddp" in str(cfg.trainer.strategy))


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
