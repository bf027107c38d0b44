"""The detector's training targets and losses, batched over images and boxes (no per-box Python loop).

Targets on the stride-`stride` grid (TTFNet's recipe, Liu et al. 2020, on CenterNet's heatmap):
- heatmap: each box's centre cell gets a peak of 1 in its class's heatmap, an elliptical Gaussian around
  it (sigma = w / 6 and h / 6 cells x 0.54, at least 0.5 cell: wide plates get wide blobs);
- box: every cell where that Gaussian is at least `box_cells` (0.3) and whose centre lies inside the box
  regresses the distances from the cell centre to the box's four sides (left, top, right, bottom, as log
  cells), weighted by the Gaussian. Any peak cell of an object then gives its whole box: a wide plate
  whose peak lands a cell beside the centre is not shifted by a cell (a centre + size head would be).

    focal  -sum[ (1-p)^2 log p  at peaks,  (1-t)^4 p^2 log(1-p)  elsewhere ] / #objects   (alpha 2, beta 4)
    box    sum_cells w (1 - GIoU(predicted box, true box)) / sum_cells w
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BOX_CELLS = 0.3  # Gaussian value above which a cell regresses its object's box


def _blobs(boxes: torch.Tensor, valid: torch.Tensor, grid: tuple[int, int], stride: int):
    """[B, K, H, W] Gaussians at each box's centre cell; the centre cells [B, K, 2] (x, y)."""
    h, w = grid
    centre = (boxes[..., :2] + boxes[..., 2:]) / (2 * stride)
    cell = centre.floor().clamp(min=0)
    cell[..., 0].clamp_(max=w - 1)
    cell[..., 1].clamp_(max=h - 1)
    sigma = ((boxes[..., 2:] - boxes[..., :2]) / stride * 0.54 / 6).clamp(min=0.5)
    xs = torch.arange(w, dtype=boxes.dtype, device=boxes.device)
    ys = torch.arange(h, dtype=boxes.dtype, device=boxes.device)
    gx = torch.exp(-((xs[None, None] - cell[..., :1]) ** 2) / (2 * sigma[..., :1] ** 2))  # [B, K, W]
    gy = torch.exp(-((ys[None, None] - cell[..., 1:]) ** 2) / (2 * sigma[..., 1:] ** 2))  # [B, K, H]
    return gy[..., :, None] * gx[..., None, :] * valid[..., None, None], cell


def cell_centres(grid: tuple[int, int], stride: int, device: torch.device | None = None) -> torch.Tensor:
    """[H, W, 2] pixel coordinates (x, y) of each cell's centre."""
    h, w = grid
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return (torch.stack([xs, ys], -1).float() + 0.5) * stride


def targets(
    boxes: torch.Tensor, labels: torch.Tensor, num_classes: int, grid: tuple[int, int], stride: int
) -> dict[str, torch.Tensor]:
    """boxes [B, K, 4] input pixels, labels [B, K] (-1: padding) -> heatmap [B, C, H, W], and per cell the
    box it regresses [B, H, W, 4] with its weight [B, H, W] (0: no box)."""
    b, k = labels.shape
    h, w = grid
    valid = labels >= 0
    if k == 0:
        zeros = boxes.new_zeros((b, h, w))
        return {
            "heatmap": boxes.new_zeros((b, num_classes, h, w)),
            "box": boxes.new_zeros((b, h, w, 4)),
            "weight": zeros,
            "valid": valid,
            "centre": boxes.new_zeros((b, 0, 2)),
        }
    blob, cell = _blobs(boxes, valid, grid, stride)
    onehot = F.one_hot(labels.clamp(min=0), num_classes).to(blob) * valid[..., None]  # [B, K, C]
    heatmap = (blob[:, :, None] * onehot[..., None, None]).amax(1)
    centres = cell_centres(grid, stride, boxes.device)  # [H, W, 2]
    inside = (
        (centres[None, None, ..., 0] > boxes[..., 0, None, None])
        & (centres[None, None, ..., 0] < boxes[..., 2, None, None])
        & (centres[None, None, ..., 1] > boxes[..., 1, None, None])
        & (centres[None, None, ..., 1] < boxes[..., 3, None, None])
    )
    # the centre cell always regresses its box (a box smaller than a cell may not contain any cell centre)
    centre_cell = (cell[..., 1, None, None] == torch.arange(h, device=boxes.device)[:, None]) & (
        cell[..., 0, None, None] == torch.arange(w, device=boxes.device)[None, :]
    )
    score = torch.where((inside & (blob >= BOX_CELLS)) | (centre_cell & valid[..., None, None]), blob, 0.0)
    weight, owner = score.max(1)  # [B, H, W]: the object a cell regresses (its strongest Gaussian)
    box = boxes.gather(1, owner.view(b, -1, 1).expand(-1, -1, 4)).view(b, h, w, 4)
    return {"heatmap": heatmap, "box": box, "weight": weight, "valid": valid, "centre": cell}


def focal_loss(logits: torch.Tensor, target: torch.Tensor, n_objects: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (sum over cells / number of objects)."""
    p = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    positive = target >= 1 - 1e-6
    pos = ((1 - p) ** 2 * torch.log(p))[positive].sum()
    neg = ((1 - target) ** 4 * p**2 * torch.log(1 - p))[~positive].sum()
    return -(pos + neg) / n_objects.clamp(min=1)


def boxes_from_distances(distances: torch.Tensor, stride: int) -> torch.Tensor:
    """[B, 4, H, W] log distances (cells) -> [B, H, W, 4] boxes in input pixels (x1, y1, x2, y2)."""
    _, _, h, w = distances.shape
    centres = cell_centres((h, w), stride, distances.device)
    d = distances.float().permute(0, 2, 3, 1).clamp(max=8.0).exp() * stride  # [B, H, W, 4] pixels
    return torch.cat([centres - d[..., :2], centres + d[..., 2:]], -1)


def giou_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """1 - generalised IoU of matching rows of [n, 4] boxes."""
    top_left, bottom_right = torch.maximum(pred[:, :2], true[:, :2]), torch.minimum(pred[:, 2:], true[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area_p, area_t = (pred[:, 2:] - pred[:, :2]).prod(-1), (true[:, 2:] - true[:, :2]).prod(-1)
    union = area_p + area_t - inter
    hull = (torch.maximum(pred[:, 2:], true[:, 2:]) - torch.minimum(pred[:, :2], true[:, :2])).prod(-1)
    return 1 - inter / union.clamp(min=1e-6) + (hull - union) / hull.clamp(min=1e-6)


def detection_loss(
    out: dict[str, torch.Tensor], boxes: torch.Tensor, labels: torch.Tensor, stride: int, box_weight: float = 1.0
) -> dict[str, torch.Tensor]:
    """{'loss', 'heatmap', 'box'} of one batch."""
    num_classes, h, w = out["heatmap"].shape[1:]
    t = targets(boxes.float(), labels, num_classes, (h, w), stride)
    heat = focal_loss(out["heatmap"], t["heatmap"], t["valid"].sum())
    cells = t["weight"] > 0
    if cells.any():
        pred = boxes_from_distances(out["box"], stride)[cells]
        weight = t["weight"][cells]
        box = (giou_loss(pred, t["box"][cells]) * weight).sum() / weight.sum()
    else:
        box = out["box"].sum() * 0.0
    return {"loss": heat + box_weight * box, "heatmap": heat, "box": box}
