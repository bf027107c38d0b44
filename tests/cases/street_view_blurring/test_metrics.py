"""COCO AP/AR (faster-coco-eval backend) and privacy recall against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.metrics.detection import CocoAP, PrivacyRecall, false_positives, operating_threshold, widen


def _t(rows: list[list[float]], width: int) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, width)


def _coco(output: str, preds: list, truths: list, label: int | None = None) -> float:
    metric = CocoAP(output=output, label=label)
    metric.update([_t(p, 6) for p in preds], [_t(t, 5) for t in truths])
    return float(metric.compute())


FACE = [10.0, 10, 30, 30, 0]


def test_a_perfect_detection_scores_one() -> None:
    preds, truths = [[[10.0, 10, 30, 30, 0.9, 0]]], [[FACE]]
    for output in ("map", "map_50", "map_75", "mar_100"):
        assert _coco(output, preds, truths) == pytest.approx(1.0)


def test_a_false_positive_above_the_true_one_halves_ap() -> None:
    # sorted by score: FP (precision 0, recall 0), then TP (precision 1/2, recall 1): the envelope is 1/2 everywhere
    preds = [[[60.0, 60, 80, 80, 0.9, 0], [10, 10, 30, 30, 0.8, 0]]]
    assert _coco("map", preds, [[FACE]]) == pytest.approx(0.5)
    assert _coco("mar_100", preds, [[FACE]]) == pytest.approx(1.0)


def test_a_loose_box_counts_at_the_low_iou_thresholds_only() -> None:
    # IoU = (20 x 12.4) / (20 x 20) = 0.62: a match at 0.50, 0.55, 0.60 of the ten thresholds 0.50:0.05:0.95
    preds = [[[10.0, 10, 30, 22.4, 0.9, 0]]]
    assert _coco("map_50", preds, [[FACE]]) == pytest.approx(1.0)
    assert _coco("map_75", preds, [[FACE]]) == pytest.approx(0.0)
    assert _coco("map", preds, [[FACE]]) == pytest.approx(0.3)


def test_a_missed_object_halves_recall_and_ap_counts_101_recall_points() -> None:
    truths = [[FACE, [50.0, 50, 70, 70, 0]]]
    preds = [[[10.0, 10, 30, 30, 0.9, 0]]]
    assert _coco("mar_100", preds, truths) == pytest.approx(0.5)
    assert _coco("map", preds, truths) == pytest.approx(51 / 101)  # precision 1 at recall 0, 0.01, ..., 0.50


def test_per_class_ap_and_a_class_without_boxes_is_undefined() -> None:
    truths = [[FACE, [50.0, 50, 90, 62, 1]]]
    preds = [[[10.0, 10, 30, 30, 0.9, 0], [0, 80, 40, 92, 0.8, 1]]]  # the plate box misses its plate
    assert _coco("map", preds, truths, label=0) == pytest.approx(1.0)
    assert _coco("map", preds, truths, label=1) == pytest.approx(0.0)
    assert _coco("map", preds, truths) == pytest.approx(0.5)
    assert math.isnan(_coco("map", [[[10.0, 10, 30, 30, 0.9, 0]]], [[FACE]], label=1))


def test_no_detection_at_all_scores_zero() -> None:
    assert _coco("map", [[]], [[FACE]]) == 0.0


def test_matches_torchmetrics_where_torchvision_is_installed() -> None:
    pytest.importorskip(
        "torchvision", reason="torchmetrics' MeanAveragePrecision needs torchvision (not installable here)"
    )
    from torchmetrics.detection import MeanAveragePrecision

    rng = np.random.default_rng(0)
    preds, truths = [], []
    for _ in range(20):
        xy = rng.uniform(0, 80, (4, 2))
        t = np.concatenate([xy, xy + rng.uniform(8, 30, (4, 2)), rng.integers(0, 2, (4, 1))], 1)
        p = np.concatenate([t[:, :4] + rng.normal(0, 3, (4, 4)), rng.uniform(0, 1, (4, 1)), t[:, 4:]], 1)
        preds.append(torch.tensor(p, dtype=torch.float32))
        truths.append(torch.tensor(t, dtype=torch.float32))
    ours = CocoAP("map")
    ours.update(preds, truths)
    reference = MeanAveragePrecision(backend="faster_coco_eval")
    reference.update(
        [{"boxes": p[:, :4], "scores": p[:, 4], "labels": p[:, 5].long()} for p in preds],
        [{"boxes": t[:, :4], "labels": t[:, 4].long()} for t in truths],
    )
    assert float(ours.compute()) == pytest.approx(float(reference.compute()["map"]), abs=1e-6)


def _privacy(preds: list, truths: list, **kwargs) -> float:
    metric = PrivacyRecall(**kwargs)
    metric.update([_t(p, 6) for p in preds], [_t(t, 5) for t in truths])
    return float(metric.compute())


def test_privacy_recall_needs_80_percent_of_the_box_blurred() -> None:
    truths = [[FACE]]
    assert _privacy([[[10.0, 10, 30, 26, 0.9, 0]]], truths) == 1.0  # 16 of 20 rows: 80%
    assert _privacy([[[10.0, 10, 30, 25, 0.9, 0]]], truths) == 0.0  # 15 of 20 rows: 75%
    # widened by 10% of its height (1.5 px) each way the same box covers rows 8.5-26.5: 17 of 20
    assert _privacy([[[10.0, 10, 30, 25, 0.9, 0]]], truths, margin=0.1) == 1.0
    # a plate found as a face is still blurred: coverage does not look at the class
    assert _privacy([[[10.0, 10, 30, 30, 0.9, 1]]], truths) == 1.0


def test_privacy_recall_keeps_false_positives_within_budget() -> None:
    truths = [[FACE], []]
    fps = [[60.0, 60, 70, 70, s, 0] for s in (0.9, 0.8, 0.7)]
    preds = [[*fps, [10.0, 10, 30, 30, 0.5, 0]], []]
    # two images, one false positive each allowed: the threshold is the third-best FP's score (0.7); the
    # true detection (0.5) falls below it
    assert operating_threshold([np.array(p) for p in preds], [np.array(t) for t in truths], 1.0) == pytest.approx(0.7)
    assert _privacy(preds, truths) == 0.0
    assert _privacy(preds, truths, max_fp_per_image=2.0) == 1.0  # four allowed: every detection kept
    assert _privacy([[[10.0, 10, 30, 30, 0.95, 0], *fps], []], truths) == 1.0


def test_privacy_recall_per_class_and_false_positive_rule() -> None:
    truths = [[FACE, [50.0, 50, 90, 62, 1]]]
    preds = [[[10.0, 10, 30, 30, 0.9, 0]]]
    assert _privacy(preds, truths, label=0) == 1.0
    assert _privacy(preds, truths, label=1) == 0.0
    assert _privacy(preds, truths) == 0.5
    # a detection half on a true box is not a false positive; one mostly on background is
    pred = np.array([[10.0, 10, 30, 50, 0.9, 0], [10, 10, 30, 60, 0.8, 0]])
    assert false_positives(pred, np.array([FACE])).tolist() == [False, True]


def test_widen_grows_boxes_on_every_side() -> None:
    assert widen(np.array([[10.0, 20, 30, 30]]), 0.1).tolist() == [[8.0, 19.0, 32.0, 31.0]]
