"""Detector outputs -> boxes: local peaks of the class heatmaps, top k, a score floor, then NMS per class;
each peak cell's box is its four predicted distances to the sides.

`decode(out, stride, score_threshold, top_k, peak_kernel, nms_iou)` gives one [n, 6] tensor per image:
x1, y1, x2, y2 (input pixels), score, label; by descending score. `peak_kernel` 1 keeps every cell
(NMS alone removes duplicates), 3 keeps the 3x3 local maxima (CenterNet's own rule).

`flip_averaged(model, x)` is CenterNet's flip testing: the outputs of the image and of its mirror (mirrored
back, left and right distances swapped) averaged, heatmap probabilities and log distances; twice the
network's cost, once the decoding's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framework.models.detection.boxes import batched_nms
from framework.models.detection.losses import boxes_from_distances


def decode(
    out: dict[str, torch.Tensor],
    stride: int,
    score_threshold: float = 0.05,
    top_k: int = 100,
    peak_kernel: int = 3,
    nms_iou: float = 0.5,
) -> list[torch.Tensor]:
    heat = torch.sigmoid(out["heatmap"].float())
    b, c, h, w = heat.shape
    if peak_kernel > 1:
        peaks = F.max_pool2d(heat, peak_kernel, stride=1, padding=peak_kernel // 2)
        heat = heat * (heat == peaks)
    scores, index = heat.reshape(b, -1).topk(min(top_k, c * h * w))
    label, cell = index // (h * w), index % (h * w)
    all_boxes = boxes_from_distances(out["box"], stride).reshape(b, h * w, 4)
    boxes = all_boxes.gather(1, cell[..., None].expand(-1, -1, 4))
    boxes[..., 0::2] = boxes[..., 0::2].clamp(0, w * stride)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(0, h * stride)
    results = []
    for i in range(b):
        keep = scores[i] >= score_threshold
        bx, sc, lb = boxes[i][keep], scores[i][keep], label[i][keep]
        kept = batched_nms(bx, sc, lb, nms_iou)
        results.append(torch.cat([bx[kept], sc[kept, None], lb[kept, None].float()], 1))
    return results


def flip_averaged(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The detector's outputs on [B, 3, H, W] inputs averaged with those on the mirrored inputs. The cell
    centres are symmetric ((j + 0.5) x stride), so cell j of the mirror is cell W - 1 - j here."""
    plain, mirror = model(x), model(x.flip(-1))
    heat = (torch.sigmoid(plain["heatmap"].float()) + torch.sigmoid(mirror["heatmap"].float().flip(-1))) / 2
    box = (plain["box"].float() + mirror["box"].float().flip(-1)[:, [2, 1, 0, 3]]) / 2  # left <-> right
    return {"heatmap": torch.logit(heat, eps=1e-6), "box": box}
