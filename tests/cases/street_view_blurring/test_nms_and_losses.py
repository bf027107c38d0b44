"""NMS against a brute-force reference, box IoU by hand, the detector's targets, losses and decoding."""

from __future__ import annotations

import math

import pytest
import torch

from framework.models.detection.boxes import batched_nms, box_iou, nms
from framework.models.detection.decode import decode
from framework.models.detection.losses import (
    boxes_from_distances,
    cell_centres,
    detection_loss,
    focal_loss,
    giou_loss,
    targets,
)


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _brute_force_nms(boxes: list[list[float]], scores: list[float], threshold: float) -> list[int]:
    """The textbook loop: take the best remaining box, drop every remaining box overlapping it too much."""
    remaining = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    kept = []
    while remaining:
        best = remaining.pop(0)
        kept.append(best)
        remaining = [i for i in remaining if _iou(boxes[best], boxes[i]) <= threshold]
    return kept


def _random_boxes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 50
    wh = torch.rand(n, 2, generator=g) * 20 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


def test_box_iou_by_hand() -> None:
    a = torch.tensor([[0.0, 0, 10, 10]])
    b = torch.tensor([[5.0, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    assert box_iou(a, b)[0].tolist() == pytest.approx([50 / 150, 0.0, 1.0])


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_the_brute_force_reference(threshold: float, seed: int) -> None:
    boxes, scores = _random_boxes(60, seed)
    assert nms(boxes, scores, threshold).tolist() == _brute_force_nms(boxes.tolist(), scores.tolist(), threshold)


def test_nms_by_hand_and_off_at_one() -> None:
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]  # IoU(0, 1) = 90/110 > 0.5
    assert nms(boxes, scores, 0.85).tolist() == [0, 1, 2]  # 0.818 <= 0.85
    assert nms(boxes, scores, 1.0).tolist() == [0, 1, 2]


def test_batched_nms_suppresses_within_a_class_only() -> None:
    boxes, scores = _random_boxes(40, 5)
    labels = torch.arange(40) % 2
    kept = set(batched_nms(boxes, scores, labels, 0.3).tolist())
    for c in (0, 1):
        idx = torch.nonzero(labels == c).flatten()
        expected = {int(idx[i]) for i in _brute_force_nms(boxes[idx].tolist(), scores[idx].tolist(), 0.3)}
        assert {i for i in kept if labels[i] == c} == expected


def test_targets_peak_at_the_centre_cell_and_nearby_cells_regress_the_box() -> None:
    boxes = torch.tensor([[[8.0, 4.0, 56.0, 28.0], [0, 0, 0, 0]]])  # a plate: centre (32, 16) px = cell (8, 4)
    labels = torch.tensor([[1, -1]])
    t = targets(boxes, labels, 2, (16, 16), 4)
    assert t["heatmap"][0, 1, 4, 8] == 1.0 and t["heatmap"][0, 0].max() == 0.0
    assert (t["heatmap"] == 1.0).sum() == 1  # one peak; the rest of the blob below 1
    assert t["weight"][0, 4, 8] == 1.0 and t["box"][0, 4, 8].tolist() == [8.0, 4.0, 56.0, 28.0]
    regressing = t["weight"][0] > 0
    assert regressing[4, 7] and regressing[4, 9]  # sigma_x = 12 cells x 0.54 / 6: the cells beside it too
    assert (t["box"][0][regressing] == boxes[0, 0]).all() and not regressing[0, 0] and not t["valid"][0, 1]


def test_a_box_smaller_than_a_cell_still_regresses_at_its_centre_cell() -> None:
    t = targets(torch.tensor([[[9.0, 9.0, 11.0, 10.0]]]), torch.tensor([[0]]), 1, (8, 8), 4)
    assert t["weight"][0].nonzero().tolist() == [[2, 2]]


def test_focal_loss_by_hand() -> None:
    # two cells: a peak with p = 0.8, a background cell of target 0.5 with p = 0.2; one object
    logits = torch.logit(torch.tensor([0.8, 0.2]))
    target = torch.tensor([1.0, 0.5])
    expected = -((0.2**2) * math.log(0.8) + (0.5**4) * (0.2**2) * math.log(0.8))
    assert focal_loss(logits, target, torch.tensor(1)).item() == pytest.approx(expected, rel=1e-5)


def test_giou_loss_by_hand() -> None:
    a = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    b = torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10]])
    # identical: 0; disjoint 10 px apart: IoU 0, hull 300, union 200 -> 1 - 0 + 100/300
    assert giou_loss(a, b).tolist() == pytest.approx([0.0, 1 + 1 / 3])


def _perfect_outputs(boxes: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Logits of the target heatmap and, at every cell, the log distances to the box it regresses."""
    t = targets(boxes, labels, 2, (16, 16), 4)
    centres = cell_centres((16, 16), 4)
    box = torch.where(t["weight"][0, ..., None] > 0, t["box"][0], torch.cat([centres - 4, centres + 4], -1))
    distances = torch.cat([centres - box[..., :2], box[..., 2:] - centres], -1).clamp(min=1e-3) / 4
    heat = torch.logit(t["heatmap"].clamp(1e-4, 1 - 1e-4))
    return {"heatmap": heat, "box": distances.log().permute(2, 0, 1)[None]}


def test_decode_inverts_the_targets_and_perfect_outputs_cost_little() -> None:
    boxes = torch.tensor([[[10.0, 6.0, 26.0, 18.0], [40.0, 30.0, 52.0, 46.0]]])
    labels = torch.tensor([[1, 0]])
    out = _perfect_outputs(boxes, labels)
    assert boxes_from_distances(out["box"], 4)[0, 3, 4].tolist() == pytest.approx(boxes[0, 0].tolist(), abs=1e-4)
    [dets] = decode(out, 4, score_threshold=0.5, top_k=10, peak_kernel=3, nms_iou=0.5)
    assert len(dets) == 2
    found = {int(d[5]): d[:4].tolist() for d in dets}
    assert found[1] == pytest.approx(boxes[0, 0].tolist(), abs=1e-3)
    assert found[0] == pytest.approx(boxes[0, 1].tolist(), abs=1e-3)
    perfect = detection_loss(out, boxes, labels, 4)
    assert perfect["box"].item() < 1e-4 and perfect["heatmap"].item() < 0.05
    blank = {k: torch.zeros_like(v) for k, v in out.items()}
    assert detection_loss(blank, boxes, labels, 4)["loss"] > perfect["loss"] + 1.0


def test_decode_without_peak_pooling_leans_on_nms() -> None:
    out = _perfect_outputs(torch.tensor([[[8.0, 4.0, 56.0, 28.0]]]), torch.tensor([[0]]))
    many = decode(out, 4, score_threshold=0.3, top_k=20, peak_kernel=1, nms_iou=1.0)[0]
    assert len(many) > 1  # the blob's neighbours survive without NMS, each with the whole box
    assert (many[:, :4] - torch.tensor([8.0, 4.0, 56.0, 28.0])).abs().max() < 1e-3
    one = decode(out, 4, score_threshold=0.3, top_k=20, peak_kernel=1, nms_iou=0.3)[0]
    assert len(one) == 1
