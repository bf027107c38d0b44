"""Baselines of item-to-item recommendation from sessions, without training.

popularity        every query gets the most clicked items (in training)
session co-visitation (item-kNN over sessions, "session-kNN"'s item form): similarity of i and j is the
                  number of training sessions with both, over sqrt(sessions with i * sessions with j)
                  (cosine of the item columns of the session-item incidence matrix)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from framework.data.sessions.datamodule import SessionSpec
from framework.data.sessions.splits import Clicks


class _Untrained(nn.Module):
    tasks = ("session_embedding",)
    trainable = False

    def __init__(self, feature_spec: SessionSpec) -> None:
        super().__init__()
        self.n_items = feature_spec.n_items


class Popularity(_Untrained):
    def scorer(self, train: Clicks) -> PopularityScorer:
        return PopularityScorer(np.bincount(train.item, minlength=self.n_items).astype(np.float32))


class PopularityScorer:
    def __init__(self, counts: np.ndarray) -> None:
        self.counts = torch.from_numpy(counts)

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        return self.counts.expand(len(queries), -1).clone()


class SessionCoVisitation(_Untrained):
    def scorer(self, train: Clicks) -> CoVisitationScorer:
        n_sessions = int(train.session.max()) + 1 if len(train.session) else 0
        incidence = sp.csr_matrix(
            (np.ones(len(train.item)), (train.session, train.item)), shape=(n_sessions, self.n_items)
        )
        incidence.data[:] = 1.0  # a session counts once per item
        incidence.sum_duplicates()
        incidence.data[:] = 1.0
        together = (incidence.T @ incidence).tocsr()
        sessions_with = np.asarray(incidence.sum(axis=0)).ravel()
        return CoVisitationScorer(together, sessions_with)


class CoVisitationScorer:
    def __init__(self, together: sp.csr_matrix, sessions_with: np.ndarray) -> None:
        self.together, self.norm = together, np.sqrt(np.maximum(sessions_with, 1.0))

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        block = self.together[queries].toarray() / self.norm[queries][:, None] / self.norm[None, :]
        return torch.from_numpy(block.astype(np.float32))
