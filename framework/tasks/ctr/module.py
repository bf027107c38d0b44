"""CTRTask: binary cross-entropy on logits, eval-suite metrics on (recalibrated) probabilities."""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics


class CTRTask(L.LightningModule):
    """Wraps a ranking model `model(categorical, numeric) -> logits`.

    Logs train/loss per step, val/<metric> per epoch and test/<metric> at the end; metric names come
    from the eval suite. Training runs through `framework.training.loop.fit_and_test`, whose `EpochSeed`
    callback makes the dropout masks of epoch k independent of a resume before it.

    `logit_shift` recalibrates a model trained on negatively downsampled data: log(w) for a negative
    rate w (`framework.data.tabular.downsampling`), 0 otherwise. Training's loss is on the raw logits;
    validation, test, `predict_step` and `scorer()` (what serving runs) add the shift, so their loss,
    NCE and calibration are those of the untouched data. It is a buffer: checkpoints carry it.
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
        logit_shift: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.val_metrics, self.test_metrics = split_metrics(metrics)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor
        self.register_buffer("logit_shift", torch.tensor(float(logit_shift)))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw logits (what training fits)."""
        return self.model(batch["categorical"], batch["numeric"])

    def calibrated_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits on the data's scale: logit(q) = logit(p) + log(w) after negative downsampling."""
        return self(batch) + self.logit_shift

    def scorer(self) -> CalibratedScorer:
        """What serving runs: `scorer(categorical, numeric)` -> calibrated logits (shares the model)."""
        return CalibratedScorer(self.model, float(self.logit_shift))

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(self(batch), batch["label"])
        log_train_loss(self, loss, len(batch["label"]))
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection, prefix: str) -> None:
        logits = self.calibrated_logits(batch)
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

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Calibrated click probabilities."""
        return torch.sigmoid(self.calibrated_logits(batch).float())

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # A checkpoint written before the shift existed was trained on all rows: its shift is 0.
        checkpoint["state_dict"].setdefault("logit_shift", torch.zeros(()))

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)


class CalibratedScorer(nn.Module):
    """A ranking model's logits plus a constant recalibration shift: `scorer(categorical, numeric)`."""

    def __init__(self, model: nn.Module, logit_shift: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("logit_shift", torch.tensor(float(logit_shift)))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.model(categorical, numeric) + self.logit_shift
