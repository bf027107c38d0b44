"""Detection metrics: COCO AP/AR (through a COCO backend) and the product's privacy recall.

Inputs per image, in the same pixel frame: predictions [n, 6] (x1, y1, x2, y2, score, label) and truths
[m, 5] (x1, y1, x2, y2, label). `update(preds, truths)` takes lists of those, one per image.

COCO figures come from `faster-coco-eval`'s COCOeval (the backend torchmetrics' `MeanAveragePrecision`
calls). torchmetrics 1.9's class itself refuses to start without torchvision (its constructor checks, and
its box conversion imports `torchvision.ops`), which cannot be installed beside a CPU torch here
(NOTES-stack.md), so this metric hands the same inputs to the same backend. `output`: map (AP averaged
over IoU 0.50:0.05:0.95), map_50, map_75, mar_100 (AR with 100 detections); `label`: one class only
(None: the mean over classes). A class without a true box is undefined: NaN, as COCO's -1.

Privacy recall (`PrivacyRecall`) is what the blurring product promises: the share of true boxes at least
`coverage` (80%) covered by blurred pixels, at an operating point with at most `max_fp_per_image` (1)
false positives per image. Blurring is per pixel and class-blind (a face blurred as a plate is blurred),
so coverage is measured on the pixel mask of the union of kept detections, of any class, each widened by
`margin` (a share of its width and height on every side, as the product blurs them: a plate's box a few
pixels short still gets blurred whole); a detection is a false positive when less than `fp_overlap` (half)
of its own pixels lie on true boxes (it blurs background).
The operating point is the lowest score threshold that keeps the false positives within budget:
`operating_threshold` (the run blurs the test images at the threshold found on the validation images).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torchmetrics import Metric

STATS = {"map": 0, "map_50": 1, "map_75": 2, "mar_1": 6, "mar_10": 7, "mar_100": 8}


class _Detections(Metric):
    """Keeps every image's predictions and truths (list states: one tensor per image)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self) -> None:
        super().__init__()
        self.add_state("preds", default=[], dist_reduce_fx=None)
        self.add_state("truths", default=[], dist_reduce_fx=None)

    def update(self, preds: list[torch.Tensor], truths: list[torch.Tensor]) -> None:
        self.preds.extend(p.detach().float().cpu().reshape(-1, 6) for p in preds)
        self.truths.extend(t.detach().float().cpu().reshape(-1, 5) for t in truths)


_STATS_MEMO: dict[tuple, np.ndarray] = {}  # the suite's AP / AR metrics hold the same boxes: evaluate once


def coco_stats(
    preds: list[torch.Tensor], truths: list[torch.Tensor], num_classes: int, label: int | None
) -> np.ndarray:
    """COCOeval's 12 summary numbers (bbox) of the images; category ids are label + 1. The eval suite's
    CocoAP metrics (mAP, AP50, AP and AR per class) see the same boxes, so an evaluation of these boxes and
    this class is computed once and remembered (keyed by a digest of the boxes; the last few only)."""
    import hashlib

    digest = hashlib.sha1()
    for t in (*preds, *truths):  # each image's box count too: the same boxes split otherwise differ
        digest.update(f"{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes())
    key = (digest.hexdigest(), len(preds), len(truths), num_classes, label)
    if key not in _STATS_MEMO:
        if len(_STATS_MEMO) >= 8:
            _STATS_MEMO.pop(next(iter(_STATS_MEMO)))
        _STATS_MEMO[key] = _coco_stats(preds, truths, num_classes, label)
    return _STATS_MEMO[key].copy()


def _coco_stats(
    preds: list[torch.Tensor], truths: list[torch.Tensor], num_classes: int, label: int | None
) -> np.ndarray:
    from faster_coco_eval import COCO, COCOeval_faster

    images = [{"id": i + 1, "width": 1, "height": 1} for i in range(len(truths))]
    gt_anns = []
    for i, t in enumerate(truths):
        for row in t.tolist():
            w, h = row[2] - row[0], row[3] - row[1]
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": i + 1,
                    "category_id": int(row[4]) + 1,
                    "bbox": [row[0], row[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    dt_anns = [
        {
            "id": k + 1,
            "image_id": i + 1,
            "category_id": int(row[5]) + 1,
            "bbox": [row[0], row[1], row[2] - row[0], row[3] - row[1]],
            "score": row[4],
            "area": (row[2] - row[0]) * (row[3] - row[1]),
        }
        for i, p in enumerate(preds)
        for k, row in enumerate(p.tolist())
    ]
    for k, ann in enumerate(dt_anns):
        ann["id"] = k + 1
    categories = [{"id": c + 1, "name": str(c)} for c in range(num_classes)]
    gt = COCO()
    gt.dataset = {"images": images, "annotations": gt_anns, "categories": categories}
    gt.createIndex()
    if not dt_anns:
        return np.zeros(12)
    dt = gt.loadRes(dt_anns)
    ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
    if label is not None:
        ev.params.catIds = [label + 1]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats[:12], dtype=float)


class CocoAP(_Detections):
    """One COCO summary number (`output`) over the classes, or of one class (`label`)."""

    def __init__(
        self,
        output: Literal["map", "map_50", "map_75", "mar_1", "mar_10", "mar_100"] = "map",
        label: int | None = None,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.output, self.label, self.num_classes = output, label, num_classes

    def compute(self) -> torch.Tensor:
        if self.label is not None and not any((t[:, 4] == self.label).any() for t in self.truths):
            return torch.tensor(math.nan)
        value = coco_stats(self.preds, self.truths, self.num_classes, self.label)[STATS[self.output]]
        return torch.tensor(math.nan if value < 0 else float(value))


def widen(boxes: np.ndarray, margin: float) -> np.ndarray:
    """[n, 4+] boxes grown by `margin` x their width (height) on the left and right (top and bottom)."""
    if len(boxes) == 0:
        return np.zeros((0, 4))
    out = np.array(boxes, dtype=np.float64, copy=True).reshape(len(boxes), -1)
    if margin:
        w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
        out[:, 0] -= margin * w
        out[:, 2] += margin * w
        out[:, 1] -= margin * h
        out[:, 3] += margin * h
    return out


def _mask(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels touched by any box (outward rounding: the blur covers every pixel a box touches)."""
    mask = np.zeros(shape, dtype=bool)
    for x1, y1, x2, y2 in boxes:
        mask[max(0, math.floor(y1)) : math.ceil(y2), max(0, math.floor(x1)) : math.ceil(x2)] = True
    return mask


def _inner(box: np.ndarray) -> tuple[slice, slice]:
    """A true box's pixels (rounded to the nearest pixel edge)."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    return slice(max(0, y1), max(y1 + 1, y2)), slice(max(0, x1), max(x1 + 1, x2))


def _shape(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    extent = np.concatenate([pred[:, :4], truth[:, :4]]) if len(pred) + len(truth) else np.zeros((1, 4))
    return math.ceil(extent[:, 3].max()) + 2, math.ceil(extent[:, 2].max()) + 2


def _shares(mask: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[n] share of each box's pixels (rounded as `_inner`) set in `mask`, by a summed-area table."""
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1))
    table[1:, 1:] = mask.cumsum(0).cumsum(1)
    r = np.rint(boxes[:, :4]).astype(np.int64)
    x1, y1 = np.clip(r[:, 0], 0, mask.shape[1]), np.clip(r[:, 1], 0, mask.shape[0])
    x2 = np.clip(np.maximum(r[:, 2], r[:, 0] + 1), 0, mask.shape[1])
    y2 = np.clip(np.maximum(r[:, 3], r[:, 1] + 1), 0, mask.shape[0])
    inside = table[y2, x2] - table[y1, x2] - table[y2, x1] + table[y1, x1]
    area = (x2 - x1) * (y2 - y1)
    return np.where(area > 0, inside / np.maximum(area, 1), 0.0)


def false_positives(pred: np.ndarray, truth: np.ndarray, fp_overlap: float = 0.5) -> np.ndarray:
    """[n] bool: the detection lies less than `fp_overlap` on true boxes (it blurs mostly background)."""
    if len(pred) == 0:
        return np.zeros(0, dtype=bool)
    on_truth = np.zeros(_shape(pred, truth), dtype=bool)
    for box in truth[:, :4]:
        on_truth[_inner(box)] = True
    return _shares(on_truth, pred) < fp_overlap


def operating_threshold(
    preds: list[np.ndarray], truths: list[np.ndarray], max_fp_per_image: float = 1.0, fp_overlap: float = 0.5
) -> float:
    """The lowest score threshold (kept: score > threshold) with at most max_fp_per_image false positives per
    image on these images; -inf when every detection fits the budget."""
    preds = [np.asarray(p, dtype=np.float64).reshape(-1, 6) for p in preds]
    truths = [np.asarray(t, dtype=np.float64).reshape(-1, 5) for t in truths]
    fp_scores = np.sort(
        np.concatenate(
            [p[false_positives(p, t, fp_overlap), 4] for p, t in zip(preds, truths, strict=True)] or [np.zeros(0)]
        )
    )[::-1]
    allowed = math.floor(max_fp_per_image * len(preds) + 1e-9)
    return float(fp_scores[allowed]) if len(fp_scores) > allowed else -math.inf


def covered(
    pred: np.ndarray, truth: np.ndarray, threshold: float, coverage: float = 0.8, margin: float = 0.0
) -> np.ndarray:
    """[m] bool: each true box is at least `coverage` covered by the kept detections' pixels (widened by `margin`)."""
    if len(truth) == 0:
        return np.zeros(0, dtype=bool)
    kept = widen(pred[pred[:, 4] > threshold, :4], margin) if len(pred) else np.zeros((0, 4))
    return _shares(_mask(kept, _shape(pred, truth)), truth) >= coverage


class PrivacyRecall(_Detections):
    """Share of true boxes (of class `label`, or all) at least `coverage` blurred at <= `max_fp_per_image`."""

    def __init__(
        self,
        label: int | None = None,
        coverage: float = 0.8,
        max_fp_per_image: float = 1.0,
        fp_overlap: float = 0.5,
        margin: float = 0.0,
    ) -> None:
        super().__init__()
        self.label, self.coverage, self.max_fp, self.fp_overlap = label, coverage, max_fp_per_image, fp_overlap
        self.margin = margin

    def compute(self) -> torch.Tensor:
        preds = [p.numpy() for p in self.preds]
        truths = [t.numpy() for t in self.truths]
        threshold = operating_threshold(preds, truths, self.max_fp, self.fp_overlap)
        hits = []
        for p, t in zip(preds, truths, strict=True):
            ok = covered(p, t, threshold, self.coverage, self.margin)
            hits.append(ok if self.label is None else ok[t[:, 4] == self.label])
        hits_all = np.concatenate(hits) if hits else np.zeros(0)
        return torch.tensor(float(hits_all.mean()) if len(hits_all) else math.nan)
