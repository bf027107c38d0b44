"""The graph a model sees, in the forms models need: a scipy CSR adjacency (heuristics, candidate
generation), degrees, a torch `edge_index` (message passing, both directions) and node attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from framework.data.graph.edges import adjacency


@dataclass
class GraphStructure:
    adj: Any  # scipy.sparse.csr_matrix float64 [n, n], symmetric 0/1
    degree: np.ndarray  # float64 [n]
    edge_index: torch.Tensor  # long [2, 2E]: every undirected edge in both directions
    node_features: torch.Tensor  # long [n, F]: attribute codes per node (F may be 0)

    @property
    def n_nodes(self) -> int:
        return int(self.adj.shape[0])

    @classmethod
    def from_edges(cls, src: np.ndarray, dst: np.ndarray, n_nodes: int, node_features: torch.Tensor) -> GraphStructure:
        adj = adjacency(src, dst, n_nodes)
        coo = adj.tocoo()
        edge_index = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
        return cls(adj, np.asarray(adj.sum(axis=1)).ravel(), edge_index, node_features)

    def neighbours(self, node: int) -> np.ndarray:
        return self.adj.indices[self.adj.indptr[node] : self.adj.indptr[node + 1]]

    def friends_of_friends(self, users: np.ndarray) -> Any:
        """CSR [len(users), n]: 1 where a node is two hops from the user and neither the user nor a friend."""
        two_hop = (self.adj[users] @ self.adj).tocsr()
        two_hop.data[:] = 1.0
        import scipy.sparse as sp

        own = sp.csr_matrix((np.ones(len(users)), (np.arange(len(users)), users)), shape=two_hop.shape)
        mask = (two_hop - two_hop.multiply(self.adj[users]) - two_hop.multiply(own)).tocsr()
        mask.eliminate_zeros()
        return mask
