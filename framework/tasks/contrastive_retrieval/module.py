"""ContrastiveTask: trains an encoder (images) or an encoder pair (texts, videos) and evaluates full-ranking
search on the validation and test catalogues.

Training, by `Objective.loss`:
    nt_xent     two augmented views of each image; each must find its partner (self-supervised SimCLR)
    supcon      two views; every view of the same class is a positive (supervised contrastive); with
                `instance_weight` > 0 plus that much NT-Xent, so items of a class stay apart (near duplicates)
    triplet     two views; triplets mined in the batch from the class labels (`mining`, `margin`)
    classifier  one view; cross-entropy of a classifier head on the embedding (cut off for search)
    clip        (caption, video) pairs; symmetric InfoNCE, other videos of the batch are the negatives; with
                `reversal_weight` > 0 plus that much time-order loss on the captions that state an order
                (`order_words`): the video played backwards is their negative
Evaluation: the split's catalogue is embedded once per pass (first batch); a batch of queries is scored
against all of it and its ranked lists go to the eval suite (`framework.tasks.contrastive_retrieval.evaluation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.data.retrieval.datamodule import RetrievalDataModule

if TYPE_CHECKING:
    from framework.data.images.augment import Augment
from framework.losses.contrastive import clip_loss, nt_xent, supcon, time_order_loss, triplet_loss
from framework.models.contrastive.text_video import reverse_frames
from framework.optim import with_scheduler
from framework.tasks.contrastive_retrieval.evaluation import image_gains, list_length, search_lists
from framework.training.module_helpers import log_train_loss, split_metrics

Loss = Literal["nt_xent", "supcon", "triplet", "classifier", "clip"]
_CHUNK = 512


@dataclass
class Objective:
    """The `contrastive` config node's training part."""

    loss: Loss
    temperature: float = 0.1
    margin: float = 0.2
    mining: Literal["batch_hard", "semi_hard", "all"] = "batch_hard"
    instance_weight: float = 0.0  # + this x NT-Xent over the two views (supcon, triplet): tells items apart
    reversal_weight: float = 0.0  # clip: + this x time-order loss on captions with an order word
    order_words: tuple[str, ...] = ("then", "before", "after")


class ContrastiveTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        data: RetrievalDataModule,
        objective: Objective,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "",
        augment: Augment | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.model, self.objective, self.augment = model, objective, augment
        self.modality = data.spec.modality
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.k = list_length(metrics)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor
        self.generator = torch.Generator().manual_seed(seed)
        names = ("images", "classes") if self.modality == "images" else ("frames", "counts", "query_tokens", "gains")
        for part in ("train", "valid", "test"):  # buffers: they follow the module to its device, not saved
            for name in names:
                if part == "train" and name in ("query_tokens", "gains", "classes"):
                    continue
                self.register_buffer(f"{part}_{name}", torch.from_numpy(data.array(part, name)), persistent=False)
        if self.modality == "videos":  # the vocabulary ids of the words that state an order
            ids = data.token_ids(objective.order_words)
            self.register_buffer("order_ids", torch.tensor(ids, dtype=torch.long), persistent=False)
        self._catalogue: torch.Tensor | None = None

    # -- encoders -------------------------------------------------------------------------------------
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [B, H, W, C] -> unit vectors [B, dim], in chunks (the same embedding the test search uses)."""
        from framework.tasks.contrastive_retrieval.images import embed

        return embed(self.model, images)

    def encode_videos(self, part: str) -> torch.Tensor:
        frames, counts = getattr(self, f"{part}_frames"), getattr(self, f"{part}_counts")
        return torch.cat(
            [self.model.videos(frames[s : s + _CHUNK], counts[s : s + _CHUNK]) for s in range(0, len(frames), _CHUNK)]
        )

    def catalogue(self, part: str) -> torch.Tensor:
        return (
            self.encode_images(getattr(self, f"{part}_images"))
            if self.modality == "images"
            else self.encode_videos(part)
        )

    def query_vectors(self, part: str, queries: torch.Tensor) -> torch.Tensor:
        if self.modality == "images":
            assert self._catalogue is not None
            return self._catalogue[queries]  # a catalogue image queries the others
        return self.model.texts(getattr(self, f"{part}_query_tokens")[queries])

    # -- training -------------------------------------------------------------------------------------
    def _views(self, images: torch.Tensor, n: int) -> list[torch.Tensor]:
        from framework.data.images.augment import to_float

        x = to_float(images)
        if self.augment is None:
            return [x] * n
        return [self.augment(x, self.generator) for _ in range(n)]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        o = self.objective
        if self.modality == "videos":
            video, tokens = batch["video"], batch["tokens"]
            frames, counts = self.train_frames[video], self.train_counts[video]
            q, v = self.model.texts(tokens), self.model.videos(frames, counts)
            loss = clip_loss(q, v, o.temperature, ids=video)
            if o.reversal_weight > 0:  # captions that state an order against their video played backwards
                ordered = torch.isin(tokens.long(), self.order_ids).any(1)
                if bool(ordered.any()):
                    backwards = self.model.videos(reverse_frames(frames[ordered], counts[ordered]), counts[ordered])
                    loss = loss + o.reversal_weight * time_order_loss(q[ordered], v[ordered], backwards, o.temperature)
        elif o.loss == "classifier":
            (x,) = self._views(batch["images"], 1)
            loss = F.cross_entropy(self.model.classifier(self.model.embed(x)), batch["classes"])
        else:
            x1, x2 = self._views(batch["images"], 2)
            z = self.model(torch.cat([x1, x2]))
            labels = torch.cat([batch["classes"], batch["classes"]])
            instance = nt_xent(z[: len(x1)], z[len(x1) :], o.temperature)
            if o.loss == "nt_xent":
                loss = instance
            elif o.loss == "supcon":
                loss = supcon(z, labels, o.temperature) + o.instance_weight * instance
            else:
                loss = triplet_loss(z, labels, o.margin, o.mining) + o.instance_weight * instance
        log_train_loss(self, loss, len(next(iter(batch.values()))))
        return loss

    # -- evaluation -----------------------------------------------------------------------------------
    def _evaluate(self, batch: dict[str, torch.Tensor], part: str, metrics: MetricCollection, batch_idx: int) -> None:
        if batch_idx == 0 or self._catalogue is None:
            self._catalogue = self.catalogue(part)  # once per pass: the weights are fixed in it
        queries = batch["query"]
        scores = self.query_vectors(part, queries) @ self._catalogue.T
        if self.modality == "images":
            gains, exclude = image_gains(getattr(self, f"{part}_classes"), queries)
        else:
            gains, exclude = getattr(self, f"{part}_gains")[queries], None
        metrics.update(search_lists(scores, gains, exclude, self.k))
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=len(queries))

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "valid", self.val_metrics, batch_idx)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_metrics, batch_idx)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
