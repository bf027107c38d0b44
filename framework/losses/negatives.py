"""Negative items for the losses of `framework.losses.retrieval`, with the log-probability of every
item under the sampler's own distribution (what log-Q correction subtracts)."""

from __future__ import annotations

from typing import Literal

import torch

from framework.data.interactions.table import UserItemSets

Negatives = Literal["in_batch", "uniform", "popularity"]
_RESAMPLE_ROUNDS = 20  # only the clashing draws are redrawn: cheap


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
