"""Log loss, normalised cross-entropy and calibration for click-through-rate prediction.

All three keep three sums (log loss, predicted CTR, clicks) and a count, so they are exact over any
number of batches and DDP ranks and cost O(1) memory.
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric

_EPS = 1e-7  # probabilities are clipped to [eps, 1 - eps] before the log, as sklearn's log_loss does


class _ClickSums(Metric):
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("log_loss_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("pred_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("click_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        p = preds.detach().double().clamp(_EPS, 1.0 - _EPS).flatten()
        y = target.detach().double().flatten()
        if p.shape != y.shape:
            raise ValueError(f"preds and target differ in size: {tuple(p.shape)} vs {tuple(y.shape)}")
        self.log_loss_sum -= (y * p.log() + (1.0 - y) * (1.0 - p).log()).sum()
        self.pred_sum += p.sum()
        self.click_sum += y.sum()
        self.count += y.numel()


class LogLoss(_ClickSums):
    """Mean binary cross-entropy of the predicted probabilities (natural log)."""

    higher_is_better = False
    is_differentiable = False

    def compute(self) -> torch.Tensor:
        return (self.log_loss_sum / self.count).float()


class NormalizedCrossEntropy(_ClickSums):
    """Log loss divided by the entropy of the background CTR p: -(p log p + (1-p) log(1-p)).

    1.0 is what always predicting the average CTR scores; lower is better (He et al., 2014, "Practical
    lessons from predicting clicks on ads at Facebook"). The background CTR is the evaluated set's own
    click rate unless `background_ctr` is given (e.g. the training CTR).
    """

    higher_is_better = False
    is_differentiable = False

    def __init__(self, background_ctr: float | None = None) -> None:
        super().__init__()
        if background_ctr is not None and not 0.0 < background_ctr < 1.0:
            raise ValueError(f"background_ctr must be in (0, 1), got {background_ctr}")
        self.background_ctr = background_ctr

    def compute(self) -> torch.Tensor:
        p = self.background_ctr if self.background_ctr is not None else float(self.click_sum / self.count)
        p = min(max(p, _EPS), 1.0 - _EPS)
        entropy = -(p * math.log(p) + (1.0 - p) * math.log(1.0 - p))
        return (self.log_loss_sum / self.count / entropy).float()


class CalibrationRatio(_ClickSums):
    """Sum of predicted CTR / number of clicks: 1.0 is calibrated, > 1 over-predicts."""

    higher_is_better = None  # 1 is best: neither direction
    is_differentiable = False

    def compute(self) -> torch.Tensor:
        return (self.pred_sum / self.click_sum.clamp_min(1.0)).float()
