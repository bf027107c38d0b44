"""Losses for learning embeddings from positive (query, item) pairs; negatives from `framework.losses.negatives`.

softmax: the positive item must win a softmax over negatives (sampled softmax).
  - in_batch: the other positives of the batch are the negatives. Their items are drawn in proportion
    to popularity, so popular items are over-penalised; log-Q correction subtracts log q(item) from
    every logit (Yi et al. 2019, "Sampling-bias-corrected neural modeling for large corpus item
    recommendations"), q = the item's share of the training pairs. A batch item equal to the row's
    positive ("accidental hit") is masked.
  - uniform / popularity: `num_negatives` items shared by the batch, drawn uniformly or in proportion
    to (count + 1); with log-Q correction every logit is shifted by -log Q(item) of that sampler.
bpr: Bayesian personalised ranking (Rendle et al. 2009): -log sigmoid(s(u, i) - s(u, j)) with one
  negative j per positive, drawn uniformly or by popularity among the items the user has not
  interacted with in training (resampled when it hits one), or taken from another row of the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def in_batch_softmax(
    u: torch.Tensor, v: torch.Tensor, items: torch.Tensor, log_q: torch.Tensor | None, temperature: float
) -> torch.Tensor:
    logits = u @ v.T / temperature  # [B, B]: row b's positive is column b
    if log_q is not None:
        logits = logits - log_q[items][None, :]
    clash = items[None, :] == items[:, None]
    clash.fill_diagonal_(False)
    logits = logits.masked_fill(clash, float("-inf"))
    return F.cross_entropy(logits, torch.arange(len(items), device=items.device))


def sampled_softmax(
    u: torch.Tensor,
    v: torch.Tensor,
    items: torch.Tensor,
    v_neg: torch.Tensor,
    negatives: torch.Tensor,
    log_q: torch.Tensor | None,
    temperature: float,
) -> torch.Tensor:
    positive = (u * v).sum(1, keepdim=True) / temperature  # [B, 1]
    negative = u @ v_neg.T / temperature  # [B, N]
    if log_q is not None:
        positive = positive - log_q[items][:, None]
        negative = negative - log_q[negatives][None, :]
    negative = negative.masked_fill(negatives[None, :] == items[:, None], float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(items), dtype=torch.long, device=items.device))


def bpr(u: torch.Tensor, v: torch.Tensor, v_neg: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid((u * v).sum(1) - (u * v_neg).sum(1)).mean()
