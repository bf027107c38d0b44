"""Top-k metrics of ranked recommendation lists (full ranking or re-ranked candidates).

Every metric is updated with a `RankedLists`: the top items per user (best first), which of them are
relevant, and how many relevant items each user has in total, retrieved or not (so recall counts the
relevant items the list missed). Accuracy metrics are means over users with at least one relevant
item, as in RecBole and torchmetrics' retrieval metrics:

    Recall@k    = hits in top k / relevant                        (torchmetrics RetrievalRecall(top_k=k))
    Precision@k = hits in top k / k                               (RetrievalPrecision(top_k=k))
    Hit@k       = 1 if any hit in top k                           (RetrievalHitRate(top_k=k))
    MRR@k       = 1 / rank of the first hit in top k, else 0      (RetrievalMRR(top_k=k))
    NDCG@k      = sum_r hit_r / log2(r + 1) / IDCG, IDCG over min(relevant, k) hits  (RetrievalNormalizedDCG)
    MAP@k       = sum_r P@r * hit_r / min(relevant, k)            (RecBole's MAP@k; torchmetrics'
                  RetrievalMAP(top_k=k) divides by the hits in top k instead, so the two agree at full depth)

Catalogue metrics describe the lists, not their accuracy: coverage@k is the share of the catalogue that
appears in at least one top-k list; diversity@k (intra-list diversity) is the mean over lists of the
mean pairwise cosine distance between the items' content vectors (genres, topics).
All states are sums or item sets, so the metrics are exact over batches and DDP ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchmetrics import Metric


@dataclass
class RankedLists:
    items: torch.Tensor  # long [U, K]: recommended items, best first (-1 = no item)
    hits: torch.Tensor  # bool [U, K]: items[u, r] is relevant to u
    n_relevant: torch.Tensor  # long [U]: relevant items of u in total
    catalog_size: int
    item_vectors: torch.Tensor | None = None  # float [I, G]: content vectors, for diversity
    gains: torch.Tensor | None = None  # float [U, K]: graded relevance of the listed items (search: 0, 1, 2)
    ideal_gains: torch.Tensor | None = None  # float [U, K]: u's best gains, sorted (the ideal list's)
    first_rank: torch.Tensor | None = None  # float [U]: full-ranking rank (1-based) of u's best-placed relevant item


class _TopK(Metric):
    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k


class _UserMean(_TopK):
    """Mean over users with at least one relevant item of a per-user value computed from the top-k hits."""

    def __init__(self, k: int) -> None:
        super().__init__(k)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("users", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update(self, lists: RankedLists) -> None:
        if lists.hits.shape[1] < self.k:
            raise ValueError(f"{type(self).__name__}(k={self.k}) needs lists of at least {self.k} items")
        keep = lists.n_relevant > 0
        hits = lists.hits[keep, : self.k].double()
        self.total += self.per_user(hits, lists.n_relevant[keep].double()).sum()
        self.users += keep.sum()

    def compute(self) -> torch.Tensor:
        return (self.total / self.users.clamp_min(1.0)).float()


class RecallAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        return hits.sum(1) / n_relevant


class PrecisionAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        return hits.sum(1) / self.k


class HitRateAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        return (hits.sum(1) > 0).double()


class MRRAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        first = hits.argmax(1)  # index of the first hit (0 when there is none: masked below)
        return torch.where(hits.any(1), 1.0 / (first + 1).double(), torch.zeros_like(n_relevant))


def _discounts(k: int, device: torch.device) -> torch.Tensor:
    return 1.0 / torch.log2(torch.arange(2, k + 2, device=device, dtype=torch.float64))


class NDCGAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        discounts = _discounts(self.k, hits.device)
        ideal = torch.cumsum(discounts, 0)[(n_relevant.clamp_max(self.k) - 1).long()]
        return (hits * discounts).sum(1) / ideal


class MAPAtK(_UserMean):
    def per_user(self, hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
        ranks = torch.arange(1, self.k + 1, device=hits.device, dtype=torch.float64)
        precision_at_r = torch.cumsum(hits, 1) / ranks
        return (precision_at_r * hits).sum(1) / n_relevant.clamp_max(self.k)


class CatalogCoverageAtK(_TopK):
    """Share of the catalogue recommended to at least one user in the top k."""

    def __init__(self, k: int) -> None:
        super().__init__(k)
        self.add_state("seen", torch.zeros(0, dtype=torch.uint8), dist_reduce_fx=_any_padded)  # uint8: gloo has no bool
        self.add_state("catalog", torch.tensor(0), dist_reduce_fx="max")

    def update(self, lists: RankedLists) -> None:
        top = lists.items[:, : self.k]
        top = top[top >= 0]
        if self.seen.numel() < lists.catalog_size:
            self.seen = torch.cat([self.seen, self.seen.new_zeros(lists.catalog_size - self.seen.numel())])
        self.seen[top] = 1
        self.catalog = torch.maximum(self.catalog, torch.tensor(lists.catalog_size, device=self.catalog.device))

    def compute(self) -> torch.Tensor:
        return ((self.seen > 0).sum() / self.catalog.clamp_min(1)).float()


def _any_padded(states: torch.Tensor) -> torch.Tensor:
    """DDP reduction of the `seen` masks gathered from every rank ([world, I]): an item is covered if any
    rank recommended it."""
    return states.amax(0) if states.dim() > 1 else states


class DiversityAtK(_TopK):
    """Intra-list diversity: mean pairwise cosine distance of the top-k items' content vectors."""

    def __init__(self, k: int) -> None:
        super().__init__(k)
        if k < 2:
            raise ValueError("diversity needs k >= 2 (pairs of items)")
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("lists", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, lists: RankedLists) -> None:
        if lists.item_vectors is None:
            raise ValueError("diversity needs the items' content vectors (RankedLists.item_vectors)")
        top = lists.items[:, : self.k]
        full = (top >= 0).all(1)  # lists shorter than k (padded with -1) are left out
        vectors = torch.nn.functional.normalize(lists.item_vectors.double(), dim=1)[top[full]]  # [U, k, G]
        similarity = vectors @ vectors.transpose(1, 2)
        off_diagonal = (similarity.sum((1, 2)) - similarity.diagonal(dim1=1, dim2=2).sum(1)) / (self.k * (self.k - 1))
        self.total += (1.0 - off_diagonal).sum()
        self.lists += full.sum()

    def compute(self) -> torch.Tensor:
        return (self.total / self.lists.clamp_min(1.0)).float()


def max_k(metrics: dict[str, Metric]) -> int:
    """The longest list the metrics need."""
    return max(int(getattr(m, "k", 1)) for m in metrics.values())


def rank_top_k(
    scores: torch.Tensor, exclude: torch.Tensor, relevant: torch.Tensor, k: int, item_vectors: torch.Tensor | None
) -> RankedLists:
    """Full ranking: the top k of `scores` [U, I] with the `exclude` mask [U, I] left out; `relevant` [U, I]."""
    masked = scores.masked_fill(exclude, float("-inf"))
    top = masked.topk(min(k, scores.shape[1]), dim=1).indices
    return RankedLists(
        items=top,
        hits=relevant.gather(1, top),
        n_relevant=relevant.sum(1),
        catalog_size=scores.shape[1],
        item_vectors=item_vectors,
    )
