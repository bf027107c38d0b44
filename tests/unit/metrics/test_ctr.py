"""CTR metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision, BinaryCalibrationError

from framework.metrics.ctr import CalibrationRatio, LogLoss, NormalizedCrossEntropy

PREDS = torch.tensor([0.1, 0.9, 0.8, 0.3])
TARGET = torch.tensor([0, 1, 0, 1])


def _value(metric, preds=PREDS, target=TARGET) -> float:
    metric.update(preds, target)
    return float(metric.compute())


def test_log_loss_by_hand() -> None:
    # -(log 0.9 + log 0.9 + log 0.2 + log 0.3) / 4
    expected = -(math.log(0.9) + math.log(0.9) + math.log(0.2) + math.log(0.3)) / 4
    assert _value(LogLoss()) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.756033, abs=1e-6)


def test_nce_divides_by_the_entropy_of_the_observed_ctr() -> None:
    # observed CTR 0.5 -> entropy ln 2
    assert _value(NormalizedCrossEntropy()) == pytest.approx(0.756033 / math.log(2), rel=1e-5)


def test_nce_with_a_given_background_ctr() -> None:
    p = 0.25
    entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert _value(NormalizedCrossEntropy(background_ctr=p)) == pytest.approx(0.756033 / entropy, rel=1e-5)


def test_nce_of_predicting_the_average_is_one() -> None:
    target = torch.tensor([1, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    assert _value(NormalizedCrossEntropy(), torch.full((10,), 0.2), target) == pytest.approx(1.0, rel=1e-6)


def test_calibration_ratio() -> None:
    # predicted clicks 0.1 + 0.9 + 0.8 + 0.3 = 2.1, observed 2
    assert _value(CalibrationRatio()) == pytest.approx(1.05, rel=1e-6)


def test_metrics_accumulate_over_batches_exactly() -> None:
    whole, split = LogLoss(), LogLoss()
    whole.update(PREDS, TARGET)
    split.update(PREDS[:1], TARGET[:1])
    split.update(PREDS[1:], TARGET[1:])
    assert float(whole.compute()) == pytest.approx(float(split.compute()), abs=1e-7)


def test_probabilities_of_zero_and_one_are_clipped_not_infinite() -> None:
    value = _value(LogLoss(), torch.tensor([0.0, 1.0]), torch.tensor([1, 0]))
    assert math.isfinite(value) and value > 10


def test_torchmetrics_classes_used_by_the_eval_suite_by_hand() -> None:
    # AUROC: of the 4 positive/negative pairs (0.9>0.1, 0.9>0.8, 0.3>0.1, 0.3<0.8) 3 are ordered right.
    assert _value(BinaryAUROC()) == pytest.approx(0.75)
    # AP: ranks 0.9(+) 0.8(-) 0.3(+) 0.1(-): precision at the positives 1/1 and 2/3 -> mean 5/6.
    assert _value(BinaryAveragePrecision()) == pytest.approx(5 / 6)
    # ECE with 2 bins: [0, .5): preds .1,.3 conf mean .2, acc .5; [.5, 1]: .8,.9 mean .85, acc .5
    # l1: 0.5 * |0.2 - 0.5| + 0.5 * |0.85 - 0.5| = 0.325 (confidence for a binary metric = p)
    assert _value(BinaryCalibrationError(n_bins=2, norm="l1")) == pytest.approx(0.325, abs=1e-6)


def test_higher_is_better_is_declared() -> None:
    assert LogLoss.higher_is_better is False
    assert NormalizedCrossEntropy.higher_is_better is False
    assert CalibrationRatio.higher_is_better is None


def test_mismatched_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        LogLoss().update(torch.tensor([0.5, 0.5]), torch.tensor([1]))
