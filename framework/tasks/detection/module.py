"""DetectionTask: a detector `model(images) -> {heatmap, box}` trained with a focal heatmap loss and GIoU.

A batch is a slice of letterboxed images [B, S, S, 3] uint8 with their boxes [B, K, 4] and labels [B, K]
(-1: padding). Training flips half the images left-right (boxes mirrored) and scales their brightness
(`augment`): on the batch tensor, no per-image Python. Validation and test decode the outputs (peaks,
score floor, NMS: `decode`) and hand every image's detections and true boxes to the eval suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as L
import torch
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.models.detection.decode import decode, flip_averaged
from framework.models.detection.losses import detection_loss
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics

MEAN, STD = 0.45, 0.25  # pixel normalisation (x / 255 - MEAN) / STD


def to_input(images: torch.Tensor) -> torch.Tensor:
    """[B, S, S, 3] uint8 -> [B, 3, S, S] float, normalised."""
    return ((images.permute(0, 3, 1, 2).float() / 255.0 - MEAN) / STD).contiguous()


def truths_of(boxes: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
    """Per image [m, 5] (x1, y1, x2, y2, label) of the real (unpadded) boxes."""
    return [torch.cat([b[lab >= 0], lab[lab >= 0, None].to(b)], 1) for b, lab in zip(boxes, labels, strict=True)]


def augment(images: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Flip a random half of the batch left-right (mirroring its boxes) and scale brightness by 0.8-1.2."""
    b, _, width, _ = images.shape
    flip = (torch.rand(b, generator=generator) < 0.5).to(images.device)  # draws on CPU: the same on any device
    images = torch.where(flip[:, None, None, None], images.flip(2), images)
    mirrored = torch.stack([width - boxes[..., 2], boxes[..., 1], width - boxes[..., 0], boxes[..., 3]], -1)
    boxes = torch.where((flip[:, None] & (labels >= 0))[..., None], mirrored, boxes)
    gain = torch.empty(b).uniform_(0.8, 1.2, generator=generator).to(images.device)
    images = (images.float() * gain[:, None, None, None]).clamp(0, 255)
    return images, boxes


class DetectionTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        decoding: dict[str, Any],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/privacy_recall",
        use_augment: bool = True,
        box_weight: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.model = model
        self.decoding = dict(decoding)
        self.flip_test = bool(self.decoding.pop("flip_test", False))
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor
        self.use_augment, self.box_weight = use_augment, box_weight
        self.generator = torch.Generator().manual_seed(seed)

    def detect(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Detections [n, 6] per image (x1, y1, x2, y2, score, label) in input pixels; with `flip_test`,
        decoded from the outputs averaged with the mirrored image's."""
        x = to_input(images)
        out = flip_averaged(self.model, x) if self.flip_test else self.model(x)
        return decode(out, self.model.stride, **self.decoding)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, boxes = batch["images"], batch["boxes"]
        if self.use_augment:
            images, boxes = augment(images, boxes, batch["labels"], self.generator)
        out = self.model(to_input(images))
        losses = detection_loss(out, boxes, batch["labels"], self.model.stride, self.box_weight)
        log_train_loss(self, losses["loss"], len(images))
        for part in ("heatmap", "box"):
            self.log(f"train/{part}_loss", losses[part], on_step=False, on_epoch=True, batch_size=len(images))
        return losses["loss"]

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection) -> None:
        metrics.update(self.detect(batch["images"]), truths_of(batch["boxes"], batch["labels"]))
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=len(batch["images"]))

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
