"""Metrics of a multi-label classifier (harmful content: one probability per class and post).

Every metric is updated with a `LabelOutputs`, which has the fields `framework.metrics.feed.OnTask` and
`MeanOverTasks` read (heads, pred, label, observed): per-class ROC-AUC and PR-AUC are those, on a class:

    OnTask("hate", BinaryAveragePrecision())     PR-AUC of P(hate)
    RecallAtPrecision("hate", 0.8)               the share of hateful posts a review queue catches when the
                                                 threshold keeps its precision at 80 % or more
    PrevalenceRatio("hate")                      mean P(hate) / true rate: 1 when the probabilities are
                                                 calibrated in aggregate (class weights inflate it; negative
                                                 downsampling does too, until recalibrated)
    ExclusiveF1("weighted"), ExclusiveScore("hate_speech", "precision")   one-of classes (Davidson): the
                                                 predicted class is the head with the highest probability
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torchmetrics import Metric
from torchmetrics.classification import (
    BinaryRecallAtFixedPrecision,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)


@dataclass
class LabelOutputs:
    heads: tuple[str, ...]  # class names, in column order
    pred: torch.Tensor  # float [N, C]: P(class)
    label: torch.Tensor  # float [N, C]: 0/1
    observed: torch.Tensor  # bool [N, C]: every label is observed here (the feed metrics' field)

    @classmethod
    def of(cls, heads: tuple[str, ...], pred: torch.Tensor, label: torch.Tensor) -> LabelOutputs:
        return cls(heads, pred, label, torch.ones_like(label, dtype=torch.bool))

    def column(self, task: str) -> int:
        if task not in self.heads:
            raise KeyError(f"class '{task}' is not one of the model's heads {list(self.heads)}")
        return self.heads.index(task)


class MeanOverClasses(Metric):
    """The mean over every class the model has (its heads) of one binary metric, e.g. the mean PR-AUC:
    what selects the epoch, whichever classes a run keeps (`multi_label.classes`). Rows are kept (cat
    states) and each class is scored once in `compute`; a class without a positive is left out of the mean."""

    full_state_update = False

    def __init__(self, metric: Metric) -> None:
        super().__init__()
        self.metric = metric
        self.add_state("pred", default=[], dist_reduce_fx="cat")
        self.add_state("label", default=[], dist_reduce_fx="cat")

    @property
    def higher_is_better(self) -> bool | None:  # type: ignore[override]
        return self.metric.higher_is_better

    def update(self, outputs: LabelOutputs) -> None:
        self.pred.append(outputs.pred.float())
        self.label.append(outputs.label.float())

    def compute(self) -> torch.Tensor:
        pred = torch.cat(self.pred) if isinstance(self.pred, list) else self.pred
        label = torch.cat(self.label) if isinstance(self.label, list) else self.label
        values = []
        for c in range(pred.shape[1]):
            if label[:, c].sum() == 0:
                continue
            m = self.metric.clone()
            m.reset()
            m.update(pred[:, c], label[:, c].int())
            values.append(m.compute().float())
        return torch.stack(values).mean() if values else torch.tensor(float("nan"))


class RecallAtPrecision(Metric):
    """Recall of one class at the threshold with the highest recall whose precision is at least
    `min_precision` (torchmetrics' BinaryRecallAtFixedPrecision; 0 when no threshold reaches it)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, task: str, min_precision: float) -> None:
        super().__init__()
        if not 0.0 < min_precision <= 1.0:
            raise ValueError(f"min_precision must be in (0, 1], got {min_precision}")
        self.task = task
        self.metric = BinaryRecallAtFixedPrecision(min_precision=min_precision)

    def update(self, outputs: LabelOutputs) -> None:
        t = outputs.column(self.task)
        self.metric.update(outputs.pred[:, t].float(), outputs.label[:, t].int())

    def compute(self) -> torch.Tensor:
        recall, _ = self.metric.compute()
        return recall

    def reset(self) -> None:
        super().reset()
        self.metric.reset()


class PrevalenceRatio(Metric):
    """Predicted prevalence (the mean probability) over the true prevalence, for one class."""

    full_state_update = False
    higher_is_better = None

    def __init__(self, task: str) -> None:
        super().__init__()
        self.task = task
        self.add_state("predicted", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("positive", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, outputs: LabelOutputs) -> None:
        t = outputs.column(self.task)
        self.predicted += outputs.pred[:, t].double().sum()
        self.positive += outputs.label[:, t].double().sum()

    def compute(self) -> torch.Tensor:
        return (self.predicted / self.positive.clamp_min(1.0)).float()


class _Exclusive(Metric):
    """One-of classes: the predicted class is the argmax of the heads, the true one the argmax of the labels."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, metric: Metric) -> None:
        super().__init__()
        self.metric = metric

    def update(self, outputs: LabelOutputs) -> None:
        self.metric.update(outputs.pred.argmax(1), outputs.label.argmax(1))

    def compute(self) -> torch.Tensor:
        return self.metric.compute()

    def reset(self) -> None:
        super().reset()
        self.metric.reset()


class ExclusiveF1(_Exclusive):
    """F1 over `n_classes` one-of classes, averaged `weighted` (by support: Davidson's headline) or `macro`."""

    def __init__(self, n_classes: int, average: Literal["weighted", "macro"]) -> None:
        super().__init__(MulticlassF1Score(num_classes=n_classes, average=average))


class ExclusiveScore(_Exclusive):
    """Precision, recall or F1 of one of `n_classes` one-of classes (Davidson's hate class)."""

    def __init__(self, task: str, score: Literal["precision", "recall", "f1"], n_classes: int) -> None:
        kind = {"precision": MulticlassPrecision, "recall": MulticlassRecall, "f1": MulticlassF1Score}[score]
        super().__init__(kind(num_classes=n_classes, average="none"))
        self.task = task
        self.index: int | None = None

    def update(self, outputs: LabelOutputs) -> None:
        self.index = outputs.column(self.task)
        super().update(outputs)

    def compute(self) -> torch.Tensor:
        return self.metric.compute()[self.index if self.index is not None else 0]
