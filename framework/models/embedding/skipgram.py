"""Skip-gram with negative sampling over click sessions (word2vec with sessions as sentences; Grbovic &
Cheng, "Real-time Personalization using Embeddings for Search Ranking at Airbnb", KDD 2018).

Two tables, as word2vec: a listing's vector v (what is served) and its context vector v'. For a training
pair (center c, context o) with k random negatives n_i and m same-market negatives h_j:

    loss = -log s(v_c . v'_o) - sum_i log s(-v_c . v'_(n_i)) - sum_j log s(-v_c . v'_(h_j))

(s = sigmoid). Random negatives come mostly from other markets, so they teach little about which
listings of one market are alike: the same-market negatives do (the paper's third ingredient). Pairs,
window and the booked listing as global context come from `framework.data.sessions.pairs`.
Similar listings are served by one of two similarities (`similarity`):
- `in_out` (the default): the viewed listing's v against each candidate's context vector v', v_q . v'_x,
  the score the training objective fits to co-clicks and bookings (the IN-OUT similarity of Nalisnick et
  al. 2016, "Improving document ranking with dual word embeddings"). Not symmetric: it estimates which
  listings follow the viewed one in a session, the booked listing included. Served as inner-product
  search over the v' vectors; on the embedded data +0.035 booking MRR over cosine (BENCHMARKS.md);
- `cosine` (the paper's): cosine of the two listings' v vectors, symmetric.

`loss` computes the gradient by hand (`_SampledLoss`), with the loss and in cache-sized chunks of pairs:
autograd's einsum/embedding backward copied the [B, 1 + k, d] block several times (a 65,536-pair step
with Adam on 2 cores: 23 ms, see BENCHMARKS.md).
`expected_loss` replaces the k sampled negatives of a center by their expectation under the noise
distribution, sum_j w_cj log s(-v_c . v'_j) with w = k q + m (uniform over the market): the same
objective in expectation without sampling noise, one [unique centers x items] matrix product per batch
(for catalogues of a few thousand listings; `skipgram.negative_sampling=expected`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from framework.data.sessions.datamodule import SessionSpec
from framework.data.sessions.splits import Clicks
from framework.errors import ConfigError
from framework.models.layers import FusedEmbedding

CPU_CHUNK = 2048  # pairs per chunk of the sampled loss on CPU (2,048: 10% faster than 4,096 on 2 cores)
SHARED_CHUNK = 2048  # pairs that share one draw of negatives (negative_sampling=shared), on every device
SIMILARITIES = ("cosine", "in_out")


class SkipGram(nn.Module):
    """
    model = SkipGram(spec, embedding_dim=32)
    loss = model.loss(center, context, negatives)     # long [B], [B], [B, k]
    sims = model.scorer(train_clicks).scores(np.array([3, 7]))   # [2, n_items] v_q . v'_x (in_out)
    """

    tasks = ("session_embedding",)
    trainable = True

    def __init__(self, feature_spec: SessionSpec, embedding_dim: int = 32, similarity: str = "in_out") -> None:
        super().__init__()
        if similarity not in SIMILARITIES:
            raise ConfigError(f"model.similarity must be one of {', '.join(SIMILARITIES)}, got '{similarity}'.")
        self.similarity = similarity
        self.vectors = FusedEmbedding([feature_spec.n_items], embedding_dim, init_std=None)  # Xavier
        self.contexts = FusedEmbedding([feature_spec.n_items], embedding_dim, init_std=0.0)  # word2vec: zeros

    def loss(
        self,
        center: torch.Tensor,
        context: torch.Tensor,
        negatives: torch.Tensor,
        shared: torch.Tensor | None = None,
        shared_weight: float = 1.0,
    ) -> torch.Tensor:
        """`negatives` [B, k] are each pair's own; `shared` [ceil(B / SHARED_CHUNK), S] are drawn once per
        chunk of SHARED_CHUNK pairs and scored against every pair of it, each with `shared_weight`."""
        targets = torch.cat([context[:, None], negatives], dim=1)  # column 0 positive, the rest negatives
        sparse = self.vectors.table.sparse
        v, u = self.vectors.table.weight, self.contexts.table.weight
        return _SampledLoss.apply(v, u, center, targets, sparse, shared, shared_weight)

    def expected_loss(
        self, center: torch.Tensor, context: torch.Tensor, weights: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """Mean over pairs of -log s(v_c . v'_o) + sum_j w_cj softplus(v_c . v'_j); `weights(unique centers)`
        gives w [U, n_items] (the expected number of times j is drawn as a negative of c)."""
        v_table, u_table = self.vectors.table.weight, self.contexts.table.weight
        # index_select: its backward is one index_add_ (indexing's index_put_ was a third of a step)
        positive = (v_table.index_select(0, center) * u_table.index_select(0, context)).sum(1)
        unique, count = torch.unique(center, return_counts=True)
        negative = _ExpectedNegatives.apply(v_table, u_table, unique, count[:, None] * weights(unique))
        return (F.softplus(-positive).sum() + negative) / len(center)

    def query_vectors(self) -> torch.Tensor:
        """What a request looks up: the viewed listing's v (unit length for cosine)."""
        v = self.vectors.table.weight.detach().float()
        return F.normalize(v, dim=1) if self.similarity == "cosine" else v

    def item_vectors(self) -> torch.Tensor:
        """What the index holds: the candidates' unit v (cosine) or their context vectors v' (in_out)."""
        if self.similarity == "cosine":
            return self.query_vectors()
        return self.contexts.table.weight.detach().float()

    def scorer(self, train: Clicks) -> EmbeddingScorer:
        return EmbeddingScorer(self.query_vectors().cpu(), self.item_vectors().cpu())


class _SampledLoss(torch.autograd.Function):
    """mean_b sum_t softplus(-sign_t v_(c_b) . v'_(t_bt)), sign +1 for t = 0 (the context), -1 otherwise.

    d loss / d s_bt = -sign_t s(-sign_t s_bt) / B =: g; then dv_c = sum_t g v'_t and dv'_t = g v_c,
    scattered into the tables (row-sparse gradients when the tables are sparse). The gradient is computed
    with the loss, in chunks of pairs whose [chunk, 1 + k, d] blocks stay in the CPU's cache (3x faster
    than one pass over the batch on 2 cores); backward only scales it.
    """

    @staticmethod
    def forward(
        ctx: Any,
        v_table: torch.Tensor,
        u_table: torch.Tensor,
        center: torch.Tensor,
        targets: torch.Tensor,
        sparse: bool,
        shared: torch.Tensor | None = None,
        shared_weight: float = 1.0,
    ) -> torch.Tensor:
        n, d = v_table.shape
        sign = torch.full((1, targets.shape[1]), -1.0, dtype=v_table.dtype, device=v_table.device)
        sign[0, 0] = 1.0
        # shared negatives belong to chunks of SHARED_CHUNK pairs on every device (the same draws, the same run)
        chunk = SHARED_CHUNK if shared is not None else len(center) if v_table.is_cuda else CPU_CHUNK
        grad_v, grad_u = _Rows(n, d, sparse, v_table), _Rows(n, d, sparse, v_table)
        loss = v_table.new_zeros(())
        scale = -1.0 / len(center)
        for i, start in enumerate(range(0, len(center), chunk)):
            c, t = center[start : start + chunk], targets[start : start + chunk]
            # index_select and broadcast products: 2-d advanced indexing and the [b, 1, T] @ [b, T, d]
            # bmm were 6x and 4x slower on CPU (17 of a 55 ms step on one core)
            v = v_table.index_select(0, c)  # [b, d]
            u = u_table.index_select(0, t.reshape(-1)).view(len(c), -1, d)  # [b, T, d]
            z = (u * v[:, None, :]).sum(2) * sign
            loss += F.softplus(-z).sum()
            g = torch.sigmoid(-z).mul_(sign).mul_(scale)  # [b, T]
            gv = (g[:, :, None] * u).sum(1)
            grad_u.add(t.reshape(-1), (g[:, :, None] * v[:, None, :]).reshape(-1, d))
            if shared is not None:  # one [b, S] matrix product instead of S gathers per pair
                s_rows = u_table.index_select(0, shared[i])  # [S, d]
                zs = v @ s_rows.T
                loss += F.softplus(zs).sum() * shared_weight
                gs = torch.sigmoid(zs).mul_(-scale * shared_weight)  # d softplus(z) / dz = s(z)
                gv += gs @ s_rows
                grad_u.add(shared[i], gs.T @ v)
            grad_v.add(c, gv)
        ctx.grads = grad_v.result(), grad_u.result()
        return loss / len(center)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_v, grad_u = ctx.grads
        del ctx.grads
        return grad_v * grad, grad_u * grad, None, None, None, None, None


class _Rows:
    """Rows added into an [n, d] gradient: dense (index_add_) or row-sparse as nn.Embedding's."""

    def __init__(self, n: int, d: int, sparse: bool, like: torch.Tensor) -> None:
        self.shape = (n, d)
        self.dense = None if sparse else like.new_zeros(n, d)
        self.index: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def add(self, index: torch.Tensor, values: torch.Tensor) -> None:
        if self.dense is not None:
            self.dense.index_add_(0, index, values)
        else:
            self.index.append(index)
            self.values.append(values)

    def result(self) -> torch.Tensor:
        if self.dense is not None:
            return self.dense
        index, values = torch.cat(self.index), torch.cat(self.values)
        return torch.sparse_coo_tensor(index[None], values, self.shape, check_invariants=False)


class _ExpectedNegatives(torch.autograd.Function):
    """sum_cj w_cj softplus(v_c . v'_j) over the rows c of `unique`; by hand, so that the [U, n_items]
    blocks are walked three times (scores, softplus, w s(.)) instead of autograd's seven."""

    @staticmethod
    def forward(
        ctx: Any, v_table: torch.Tensor, u_table: torch.Tensor, unique: torch.Tensor, w: torch.Tensor
    ) -> torch.Tensor:
        v = v_table.index_select(0, unique)
        scores = v @ u_table.T  # [U, n_items]
        ctx.save_for_backward(v, u_table, unique, w, scores)
        return torch.dot(F.softplus(scores).view(-1), w.reshape(-1))  # no [U, n_items] product kept

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        v, u_table, unique, w, scores = ctx.saved_tensors
        g = torch.sigmoid(scores).mul_(w).mul_(grad)  # d/ds softplus(s) = s(s)
        grad_v = u_table.new_zeros(u_table.shape).index_add_(0, unique, g @ u_table)
        return grad_v, g.T @ v, None, None


class EmbeddingScorer:
    """Inner products of the queries' vectors with every item's (the same table for cosine)."""

    def __init__(self, query_vectors: torch.Tensor, item_vectors: torch.Tensor) -> None:
        self.query_vectors, self.item_vectors = query_vectors, item_vectors

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        return self.query_vectors[torch.from_numpy(queries)] @ self.item_vectors.T
