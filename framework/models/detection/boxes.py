"""Box arithmetic and non-maximum suppression in plain torch (boxes are [n, 4] corners x1, y1, x2, y2).

`nms` is greedy NMS as torchvision's `ops.nms`: boxes in descending score order; a box is dropped when its
IoU with a kept, higher-scoring box is above `iou_threshold` (strictly). `batched_nms` runs it per class
by shifting each class's boxes to a region of its own (the usual offset trick: boxes of two classes never
overlap, so one greedy pass suppresses within classes only). An `iou_threshold` of 1 or more keeps every box.
"""

from __future__ import annotations

import numpy as np
import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[n, m] intersection over union of every pair."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-12)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the kept boxes, by descending score."""
    order = torch.argsort(scores, descending=True, stable=True)
    if iou_threshold >= 1.0 or len(order) <= 1:
        return order
    over = (box_iou(boxes[order], boxes[order]) > iou_threshold).cpu().numpy()  # one matrix, then a numpy loop
    keep = np.ones(len(order), dtype=bool)
    for i in range(len(order)):  # greedy: each kept box suppresses the lower-scored boxes it overlaps
        if keep[i]:
            keep[i + 1 :] &= ~over[i, i + 1 :]
    return order[torch.from_numpy(keep).to(order.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each label; indices of the kept boxes by descending score."""
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long)
    offset = labels.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offset[:, None], scores, iou_threshold)
