"""Stage 1 as served: encode the user, search the item index, drop the items the user already saw.

The index holds every item's vector; it knows nothing of users' histories, so the retriever asks it for
k + (items the user has seen) results and keeps the first k unseen ones (an item the user watched is
never recommended again). Batched for offline evaluation, one user at a time for latency.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from framework.data.interactions.table import EntityFeatures, UserItemSets
from framework.serving.index import ExactIndex, VectorIndex, recall_against_exact


@dataclass
class Candidates:
    users: torch.Tensor  # long [U]
    items: torch.Tensor  # long [U, K], best first; -1 pads a list the index could not fill
    scores: torch.Tensor  # float [U, K]; -inf on padding

    def hits(self, targets: UserItemSets) -> torch.Tensor:
        users = self.users[:, None].expand_as(self.items)
        return targets.contains(users, self.items.clamp_min(0)) & (self.items >= 0)


def unseen_first(
    users: torch.Tensor, ids: np.ndarray, scores: np.ndarray, history: UserItemSets, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first k results of each user's search that are not in their history, in rank order."""
    ids_t, scores_t = torch.from_numpy(ids).long(), torch.from_numpy(scores).float()
    keep = (ids_t >= 0) & ~history.contains(users[:, None].expand_as(ids_t), ids_t.clamp_min(0))
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :k]  # kept ones first, in rank order
    kept = keep.gather(1, order)
    items = ids_t.gather(1, order).masked_fill(~kept, -1)
    return items, scores_t.gather(1, order).masked_fill(~kept, float("-inf"))


def pad_lists(items: torch.Tensor, scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lists shorter than k (a small catalogue) padded with item -1, score -inf."""
    if items.shape[1] >= k:
        return items, scores
    extra = k - items.shape[1]
    return (
        torch.cat([items, items.new_full((len(items), extra), -1)], 1),
        torch.cat([scores, scores.new_full((len(scores), extra), float("-inf"))], 1),
    )


def unseen_top_k(
    index: VectorIndex, queries: np.ndarray, users: torch.Tensor, history: UserItemSets, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 1 for these users' query vectors: k + (most items one of them saw) results from the index, then
    each user's first k unseen ones (items [U, k], -1 padded; scores [U, k], -inf padded)."""
    depth = min(index.n_items, k + int(history.counts(users).max()))
    scores, ids = index.search(queries, depth)
    return pad_lists(*unseen_first(users, ids, scores, history, k), k)


class Retriever:
    """A copy of the trained retrieval model (CPU, eval mode), the user feature table, and the item index."""

    def __init__(self, model: torch.nn.Module, users: EntityFeatures, items: EntityFeatures, index: VectorIndex):
        self.model = copy.deepcopy(model).cpu().eval()
        self.user_cat, self.user_num = torch.from_numpy(users.categorical), torch.from_numpy(users.numeric)
        self.index = index
        with torch.inference_mode():
            item_cat, item_num = torch.from_numpy(items.categorical), torch.from_numpy(items.numeric)
            vectors = [
                self.model.item_vectors(item_cat[s : s + 65_536], item_num[s : s + 65_536])
                for s in range(0, len(item_cat), 65_536)
            ]
        self.item_vectors = torch.cat(vectors).float().numpy()
        self.index.build(self.item_vectors)

    def user_vectors(self, users: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return self.model.user_vectors(self.user_cat[users], self.user_num[users]).float().numpy()

    def candidates(self, users: torch.Tensor, history: UserItemSets, k: int, batch_size: int = 1024) -> Candidates:
        """The top k unseen items of every user, in the index's order."""
        all_items, all_scores = [], []
        for s in range(0, len(users), batch_size):
            batch = users[s : s + batch_size]
            items, kept_scores = unseen_top_k(self.index, self.user_vectors(batch), batch, history, k)
            all_items.append(items)
            all_scores.append(kept_scores)
        return Candidates(users, torch.cat(all_items), torch.cat(all_scores))

    def request(self, user: int, history: UserItemSets, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One serving request: the user's top k unseen items and their scores."""
        users = torch.tensor([user])
        items, kept_scores = unseen_top_k(self.index, self.user_vectors(users), users, history, k)
        return items[0], kept_scores[0]

    def recall_against_exact(self, users: torch.Tensor, k: int) -> float:
        """How much of the exact top k (unfiltered) the index returns for these users."""
        if isinstance(self.index, ExactIndex):
            return 1.0
        exact = ExactIndex()
        exact.build(self.item_vectors)
        queries = self.user_vectors(users)
        return recall_against_exact(self.index.search(queries, k)[1], exact.search(queries, k)[1])
