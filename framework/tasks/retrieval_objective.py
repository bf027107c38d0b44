"""Losses and negatives for training a retrieval model on positive (user, item) pairs.

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

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from framework.data.interactions import UserItemSets

Loss = Literal["softmax", "bpr"]
Negatives = Literal["in_batch", "uniform", "popularity"]
_RESAMPLE_ROUNDS = 20  # only the clashing draws are redrawn: cheap


@dataclass
class Objective:
    loss: Loss
    negatives: Negatives
    num_negatives: int
    logq_correction: bool
    temperature: float
    embedding_l2: float

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.num_negatives < 1 or self.embedding_l2 < 0:
            raise ValueError("temperature and num_negatives must be positive, embedding_l2 non-negative")


class NegativeSampler:
    """Draws negative items; knows the log-probability of every item under its own distribution."""

    def __init__(self, kind: Negatives, item_counts: torch.Tensor, train: UserItemSets) -> None:
        self.kind = kind
        self.train = train
        counts = item_counts.double()
        self.n_items = len(counts)
        if kind == "popularity":
            self.probs = (counts + 1.0) / (counts + 1.0).sum()
        elif kind == "uniform":
            self.probs = torch.full_like(counts, 1.0 / self.n_items)
        else:  # in-batch: an item fills a batch slot with probability count / pairs
            self.probs = counts / counts.sum()
        self.log_q = self.probs.clamp_min(1e-12).log().float()

    def draw(self, n: int) -> torch.Tensor:
        if self.kind == "popularity":
            return torch.multinomial(self.probs, n, replacement=True)
        return torch.randint(0, self.n_items, (n,))

    def per_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """One negative per positive that the user has not interacted with in training (BPR)."""
        if self.kind == "in_batch":
            return items[torch.randperm(len(items), device=items.device)]
        negatives = self.draw(len(users)).to(users.device)
        for _ in range(_RESAMPLE_ROUNDS):
            clash = self.train.contains(users, negatives)
            if not clash.any():
                break
            negatives[clash] = self.draw(int(clash.sum())).to(users.device)
        return negatives


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
