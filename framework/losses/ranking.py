"""Losses for ordering the candidates of one query (a user's list): pointwise, pairwise, listwise.

Every loss takes the scores of a batch of lists `logits` [B, K], their 0/1 (or graded) `labels`
[B, K] and a `mask` [B, K] of real entries (False on padding), and returns a scalar.

- pointwise: binary cross-entropy of every real entry on its own (a CTR model's loss). It spends part
  of its effort on what the list order cannot use: the level of a whole list (how active the user is).
- pairwise: RankNet (Burges et al. 2005): -log sigmoid(s_i - s_j) over every pair of one list with
  label_i > label_j, averaged over the pairs.
- listwise: ListNet's top-one softmax (Cao et al. 2007) with several relevant entries: the cross-entropy
  between the labels, normalised to a distribution over the list, and softmax(scores) over the list.
  Lists without a relevant entry carry no order information and are skipped.
- lambdarank: RankNet's pair loss weighted by |delta NDCG|, how much NDCG of the list would change if
  the two entries swapped places in the current order (Burges 2010, "From RankNet to LambdaRank to
  LambdaMART"): pairs near the top, where NDCG's discount is steep, weigh most. The weights use the
  detached scores (they are the "lambdas", not part of the gradient); summed per list, averaged over
  the lists with an ordered pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

RANKING_LOSSES = ("pointwise", "pairwise", "listwise", "lambdarank")


def pointwise_bce(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits[mask], labels[mask].float())


def pairwise_logistic(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    labels = labels.float()
    better = (labels[:, :, None] > labels[:, None, :]) & mask[:, :, None] & mask[:, None, :]  # [B, K, K]: i before j
    if not better.any():
        return logits.sum() * 0.0  # no ordered pair in the batch: a zero that keeps the graph
    diff = logits[:, :, None] - logits[:, None, :]
    return F.softplus(-diff[better]).mean()  # softplus(-x) = -log sigmoid(x)


def listwise_softmax(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    labels = labels.float() * mask
    relevant = labels.sum(1)
    has = relevant > 0
    if not has.any():
        return logits.sum() * 0.0
    log_p = F.log_softmax(logits[has].float().masked_fill(~mask[has], float("-inf")), dim=1)
    target = labels[has] / relevant[has, None]
    return -(target * log_p.masked_fill(~mask[has], 0.0)).sum(1).mean()


def lambdarank(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    labels = labels.float() * mask
    better = (labels[:, :, None] > labels[:, None, :]) & mask[:, :, None] & mask[:, None, :]  # i before j
    if not better.any():
        return logits.sum() * 0.0
    with torch.no_grad():
        scores = logits.detach().float().masked_fill(~mask, float("-inf"))
        rank = torch.empty_like(scores)  # 1-based position of each entry in the current order
        order = torch.argsort(scores, dim=1, descending=True, stable=True)
        positions = torch.arange(1, scores.shape[1] + 1, dtype=scores.dtype, device=scores.device)
        rank.scatter_(1, order, positions.expand_as(scores))
        discount = 1.0 / torch.log2(rank + 1.0)
        gain = torch.pow(2.0, labels) - 1.0
        ideal_gain = torch.sort(gain, dim=1, descending=True).values
        ideal = (ideal_gain / torch.log2(positions + 1.0)).sum(1, keepdim=True).clamp_min(1e-12)
        weight = ((gain[:, :, None] - gain[:, None, :]) * (discount[:, :, None] - discount[:, None, :])).abs()
        weight = weight / ideal[:, :, None]
    diff = logits[:, :, None] - logits[:, None, :]
    per_list = (F.softplus(-diff) * weight * better).sum((1, 2))
    return per_list[better.any((1, 2))].mean()


def ranking_loss(name: str):
    """The loss function called `name` (one of RANKING_LOSSES)."""
    losses = {
        "pointwise": pointwise_bce,
        "pairwise": pairwise_logistic,
        "listwise": listwise_softmax,
        "lambdarank": lambdarank,
    }
    if name not in losses:
        raise ValueError(f"unknown ranking loss {name!r}; choose one of {', '.join(RANKING_LOSSES)}")
    return losses[name]
