"""Losses of the contrastive retrieval kind: embeddings where a query lands next to what is relevant to it.

All take L2-normalised embeddings (cosine similarity = dot product).

clip (symmetric InfoNCE; Radford et al. 2021): a batch of B pairs (q_i, v_i), e.g. (caption, video);
  logits = q v^T / tau; cross-entropy towards the diagonal in both directions (text -> video and video ->
  text), averaged. `ids` masks a column that is the row's own item (two captions of one video in a batch
  are not each other's negatives).
time_order (Bagad et al. 2023, "Test of Time"): a caption that states an order ("slices then simmers") must
  score its video above the same video played backwards: cross-entropy over the two logits q v / tau and
  q v_reversed / tau. A bag of frames scores both alike (loss log 2): only an encoder that sees order can win.
nt_xent (SimCLR's normalised temperature-scaled cross-entropy; Chen et al. 2020): two augmented views z1,
  z2 of B images; each of the 2B views must pick its partner among the other 2B - 1 views. pytorch-metric-
  learning's NTXentLoss on cat(z1, z2) with labels cat(arange(B), arange(B)) is the same number (tested).
supcon (Khosla et al. 2020): nt_xent with labels: every view of the query's class is a positive.
triplet (Schroff et al. 2015, FaceNet): max(0, d(a, p) - d(a, n) + margin) on Euclidean distances, with
  triplets mined in the batch from class labels:
  - batch_hard (Hermans et al. 2017): per anchor its farthest positive and nearest negative;
  - semi_hard: per (anchor, positive) the nearest negative still farther than the positive (FaceNet);
    pairs without one fall back to their hardest negative;
  - all: every valid triplet; the mean over those with a positive loss (pytorch-metric-learning's default
    reducer), so easy triplets do not dilute the gradient.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Mining = Literal["batch_hard", "semi_hard", "all"]


def clip_loss(q: torch.Tensor, v: torch.Tensor, temperature: float, ids: torch.Tensor | None = None) -> torch.Tensor:
    logits = q @ v.T / temperature  # [B, B]: row b's positive is column b
    if ids is not None:
        clash = ids[None, :] == ids[:, None]
        clash.fill_diagonal_(False)
        logits = logits.masked_fill(clash, float("-inf"))
    target = torch.arange(len(q), device=q.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def time_order_loss(q: torch.Tensor, v: torch.Tensor, v_reversed: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = torch.stack([(q * v).sum(1), (q * v_reversed).sum(1)], 1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    z = torch.cat([z1, z2])
    b = len(z1)
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))  # a view is not its own partner
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, partner)


def _distances(x: torch.Tensor) -> torch.Tensor:
    squared = (x * x).sum(1)
    d2 = squared[:, None] + squared[None, :] - 2 * x @ x.T
    return d2.clamp_min(1e-12).sqrt()  # the floor keeps sqrt's gradient finite at 0


def triplet_loss(x: torch.Tensor, labels: torch.Tensor, margin: float, mining: Mining = "batch_hard") -> torch.Tensor:
    d = _distances(x)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
    positive, negative = same & ~eye, ~same
    if mining == "batch_hard":
        keep = positive.any(1) & negative.any(1)
        if not keep.any():
            return x.sum() * 0.0  # no anchor with both a positive and a negative: nothing to learn from
        hardest_p = d.masked_fill(~positive, float("-inf")).amax(1)
        hardest_n = d.masked_fill(~negative, float("inf")).amin(1)
        return F.relu(hardest_p - hardest_n + margin)[keep].mean()
    # [A, P, N] losses of every triplet (batches are small: B^3 is a few million at most)
    gap = d[:, :, None] - d[:, None, :] + margin
    valid = positive[:, :, None] & negative[:, None, :]
    if mining == "semi_hard":
        farther = valid & (d[:, None, :] > d[:, :, None])
        candidates = torch.where(farther.any(2, keepdim=True), farther, valid)  # else: the hardest negative
        d_n = d[:, None, :].expand_as(gap).masked_fill(~candidates, float("inf"))
        pick = d_n.argmin(2, keepdim=True)
        losses = F.relu(gap.gather(2, pick).squeeze(2))[positive & negative.any(1)[:, None]]
        return losses.mean() if len(losses) else x.sum() * 0.0
    losses = F.relu(gap)[valid]
    active = losses > 0
    return losses[active].mean() if active.any() else x.sum() * 0.0


def supcon(z: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, L_out): every other view of the same class is a
    positive. Per anchor i: -mean over its positives p of log softmax_{a != i}(z_i . z_a / tau)[p]; the mean
    over anchors that have a positive. pytorch-metric-learning's SupConLoss is the same number (tested)."""
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]).fill_diagonal_(False)
    has = positive.any(1)
    if not has.any():
        return z.sum() * 0.0
    mean_log_prob = log_prob.masked_fill(~positive, 0.0).sum(1)[has] / positive.sum(1)[has]
    return -mean_log_prob.mean()
