"""CTRTask's recalibration after negative downsampling: trained on raw logits, evaluated and served on
logits shifted by log(w); the shift travels in checkpoints."""

from __future__ import annotations

import math

import lightning.pytorch as L
import pytest
import torch
from torch import nn

from framework.data.batching import TensorTable, batch_loader
from framework.data.tabular.downsampling import logit_shift, recalibrate
from framework.metrics.ctr import CalibrationRatio, LogLoss
from framework.tasks.ctr.module import CTRTask

W = 0.1


class Constant(nn.Module):
    """Predicts the same logit for every row (a learnable bias)."""

    def __init__(self, logit: float = 0.0) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor(logit))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(categorical))


def task(shift: float = 0.0, logit: float = 0.0) -> CTRTask:
    metrics = {"calibration": CalibrationRatio(), "log_loss": LogLoss()}
    return CTRTask(Constant(logit), metrics, optimizer=torch.optim.SGD, logit_shift=shift)


def rows(n: int = 110, positives: int = 10) -> TensorTable:
    label = torch.zeros(n)
    label[:positives] = 1.0
    return TensorTable(
        {"categorical": torch.zeros(n, 1, dtype=torch.long), "numeric": torch.zeros(n, 1), "label": label}
    )


@pytest.mark.filterwarnings("ignore:You are trying to")  # training_step outside a Trainer
def test_probabilities_are_recalibrated_and_training_is_not() -> None:
    t = task(logit_shift(W), logit=0.0)  # the sample's model says p = 0.5
    batch = rows()[slice(0, 110)]
    assert torch.sigmoid(t(batch)).mean().item() == pytest.approx(0.5)  # raw: what training fits
    probs = t.predict_step(batch, 0)
    torch.testing.assert_close(probs, torch.full((110,), recalibrate(0.5, W)))  # 1/11
    torch.testing.assert_close(t.scorer()(batch["categorical"], batch["numeric"]), t.calibrated_logits(batch))
    loss = t.training_step(batch, 0)
    raw = nn.functional.binary_cross_entropy_with_logits(t(batch), batch["label"])
    assert loss.item() == pytest.approx(raw.item())


def test_test_metrics_see_calibrated_probabilities(tmp_path) -> None:
    # 10 clicks in 110 rows; p = 0.5 on the sample is 1/11 on the data: calibration 10 / 10 = 1
    results = {}
    for name, shift in (("raw", 0.0), ("recalibrated", logit_shift(W))):
        trainer = L.Trainer(
            accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
            enable_checkpointing=False, default_root_dir=tmp_path,
        )  # fmt: skip
        loader = batch_loader(rows(), 32, shuffle=False, seed=0)
        (results[name],) = trainer.test(task(shift), dataloaders=loader, verbose=False)
    assert results["recalibrated"]["test/calibration"] == pytest.approx(1.0, rel=1e-5)
    assert results["raw"]["test/calibration"] == pytest.approx(5.5, rel=1e-5)  # 55 predicted clicks / 10
    assert results["recalibrated"]["test/loss"] < results["raw"]["test/loss"]


def test_the_shift_is_saved_with_the_model() -> None:
    saved = task(logit_shift(W)).state_dict()
    assert saved["logit_shift"].item() == pytest.approx(math.log(W))
    fresh = task(0.0)
    fresh.load_state_dict(saved)
    assert fresh.logit_shift.item() == pytest.approx(math.log(W))
    assert fresh.scorer().logit_shift.item() == pytest.approx(math.log(W))


def test_a_checkpoint_from_before_the_shift_loads_with_none() -> None:
    old = {k: v for k, v in task(0.0, logit=1.0).state_dict().items() if k != "logit_shift"}
    checkpoint = {"state_dict": old}
    fresh = task(logit_shift(W))
    fresh.on_load_checkpoint(checkpoint)
    fresh.load_state_dict(checkpoint["state_dict"])
    assert fresh.logit_shift.item() == 0.0
