"""A GraphSAGE encoder (Hamilton et al. 2017) with an edge scorer, for link prediction on the whole graph.

Node inputs: a learned vector per node id and/or per node attribute (school, city, ...), summed. Then
`num_layers` SAGEConv layers (PyTorch Geometric; mean, max or sum aggregation of the neighbours) give
each node a vector h. An edge (u, v) is scored by
- `dot`: h_u . h_v (PyG's link-prediction recipe), or
- `hadamard_mlp`: an MLP over [h_u * h_v, structural features of the pair].

Structural features are heuristics of the pair (common neighbours, resource allocation, ...; log1p-scaled)
computed on the graph the encoder sees. Message passing alone cannot count common neighbours (it cannot
tell which neighbours two nodes share), which is why feature-less GNNs lose to resource allocation at
ranking a user's new friends; feeding the counts in (as NCN / BUDDY do) lets the model combine them with
what the encoder learns from attributes and the wider neighbourhood.

    model = GraphSAGE(spec, structural=["common_neighbours", "resource_allocation"])
    h = model.encode(structure)                   # [n, hidden_dim]
    logits = model.decode(h, structure, src, dst) # [P]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure
from framework.models.graph.heuristics import Measure, pair_scores, user_scores
from framework.models.layers import MLP, FusedEmbedding


class GraphSAGE(nn.Module):
    tasks = ("link_prediction",)
    trainable = True

    def __init__(
        self,
        feature_spec: GraphSpec,
        embedding_dim: int = 64,
        hidden_dim: int = 64,
        num_layers: int = 2,
        aggregator: Literal["mean", "max", "sum"] = "mean",
        dropout: float = 0.0,
        use_ids: bool = True,
        use_features: bool = True,
        decoder: Literal["dot", "hadamard_mlp"] = "hadamard_mlp",
        decoder_hidden: list[int] | None = None,
        structural: list[Measure] | None = None,
        common_neighbour_vectors: bool = False,
    ) -> None:
        super().__init__()
        from torch_geometric.nn import SAGEConv

        fields = ([feature_spec.n_nodes] if use_ids else []) + (
            list(feature_spec.node_features.values()) if use_features else []
        )
        if not fields:
            raise ValueError(
                "GraphSAGE needs node inputs: use_ids=true, or use_features=true on a dataset with node "
                "attributes (this one has none)."
            )
        if decoder == "dot" and (structural or common_neighbour_vectors):
            raise ValueError("pair features need decoder=hadamard_mlp (a dot product has nowhere to put them)")
        self.use_ids, self.use_features = use_ids, use_features
        self.inputs = FusedEmbedding(fields, embedding_dim, init_std=0.1)
        dims = [embedding_dim] + [hidden_dim] * num_layers
        self.convs = nn.ModuleList(SAGEConv(dims[i], dims[i + 1], aggr=aggregator) for i in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.decoder = decoder
        self.structural = list(structural or [])
        self.common_neighbour_vectors = common_neighbour_vectors
        out = dims[-1]
        if decoder == "hadamard_mlp":
            width = out * (2 if common_neighbour_vectors else 1) + len(self.structural)
            head = MLP(width, decoder_hidden or [64], dropout)
            self.head = nn.Sequential(head, nn.Linear(head.out_dim, 1))

    def node_inputs(self, structure: GraphStructure) -> torch.Tensor:
        n = structure.n_nodes
        device = self.inputs.table.weight.device
        codes = []
        if self.use_ids:
            codes.append(torch.arange(n, device=device)[:, None])
        if self.use_features:
            codes.append(structure.node_features.to(device))
        return self.inputs(torch.cat(codes, dim=1)).sum(dim=1)

    def encode(self, structure: GraphStructure) -> torch.Tensor:
        h = self.node_inputs(structure)
        edge_index = structure.edge_index.to(h.device)
        for i, conv in enumerate(self.convs):
            h = conv(h, edge_index)
            if i < len(self.convs) - 1:
                h = self.dropout(torch.relu(h))
        return h

    def pair_features(self, structure: GraphStructure, src: np.ndarray, dst: np.ndarray) -> torch.Tensor:
        """float32 [P, S]: log1p of each structural measure of each pair."""
        if not self.structural:
            return torch.zeros(len(src), 0)
        columns = [np.log1p(pair_scores(structure, m, src, dst)) for m in self.structural]
        return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))

    def decode(self, h: torch.Tensor, structure: GraphStructure, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        hu, hv = h[src.to(h.device)], h[dst.to(h.device)]
        if self.decoder == "dot":
            return (hu * hv).sum(dim=1)
        src_np, dst_np = src.cpu().numpy(), dst.cpu().numpy()
        parts = [hu * hv, self.pair_features(structure, src_np, dst_np).to(h.device)]
        if self.common_neighbour_vectors:  # NCN: the sum of the common friends' vectors
            common = structure.adj[src_np].multiply(structure.adj[dst_np]).tocoo()
            parts.append(_sparse(common, h.device) @ h)
        return self.head(torch.cat(parts, dim=1)).squeeze(1)

    def scorer(self, structure: GraphStructure) -> SAGEScorer:
        return SAGEScorer(self, structure)


class SAGEScorer:
    """Node vectors computed once (offline, as served); pairs and user blocks scored from them."""

    def __init__(self, model: GraphSAGE, structure: GraphStructure, chunk: int = 32) -> None:
        self.model, self.structure, self.chunk = model, structure, chunk
        with torch.no_grad():
            self.h = model.encode(structure)

    @torch.no_grad()
    def pairs(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.model.decode(self.h, self.structure, src, dst).float().cpu()

    @torch.no_grad()
    def users(self, users: torch.Tensor) -> torch.Tensor:
        h, model = self.h, self.model
        if model.decoder == "dot":
            return (h[users.to(h.device)] @ h.T).cpu()
        out = []
        for start in range(0, len(users), self.chunk):
            block = users[start : start + self.chunk].numpy()
            pair = h[torch.from_numpy(block).to(h.device)][:, None, :] * h[None, :, :]  # [B, n, d]
            if model.structural:
                extra = np.stack([np.log1p(user_scores(self.structure, m, block)) for m in model.structural], axis=2)
                pair = torch.cat([pair, torch.from_numpy(extra.astype(np.float32)).to(h.device)], dim=2)
            if model.common_neighbour_vectors:  # for user u and every v: sum of h_w over w in N(u) ∩ N(v)
                adj = _sparse(self.structure.adj.tocoo(), h.device)
                own = torch.from_numpy(self.structure.adj[block].toarray().astype(np.float32)).to(h.device)
                common = torch.stack([adj @ (own[b][:, None] * h) for b in range(len(block))])
                pair = torch.cat([pair, common], dim=2)
            out.append(model.head(pair).squeeze(2).cpu())
        return torch.cat(out)


def _sparse(coo: Any, device: torch.device) -> torch.Tensor:
    """A scipy COO matrix as a float32 torch sparse tensor."""
    indices = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data.astype(np.float32))
    return torch.sparse_coo_tensor(indices, values, coo.shape, device=device)
