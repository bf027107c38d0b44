"""Graph data for the link_prediction kind: source -> clean -> split -> cached arrays.

Training is full batch (the graphs fit in memory): an "epoch" is `steps` optimiser steps over the whole
graph, so the training loader yields step numbers only; validation and test are one evaluation each of
the whole held-out split. The arrays are cached like every dataset (see `framework.data.cache`), keyed
by the dataset config, the source file, the code and the seed (it drives the random split and the
sampled negatives).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from framework.data import cache, read_source
from framework.data.graph import edges as edges_module
from framework.data.graph import splits as splits_module
from framework.data.graph.edges import EdgeList, clean
from framework.data.graph.splits import GraphSplit, Pairs, split_graph
from framework.data.module import CaseDataModule
from framework.errors import DataError

HELD_OUT = ("valid", "test")
# Dataset keys the data module uses; every other key is a parameter of the source (`_target_`).
_NOT_SOURCE_ARGS = {
    "_target_",
    "name",
    "split",
    "split_strategy",
    "eval_negatives",
    "batch_size",
    "eval_batch_size",
    "cache",
}


@dataclass
class GraphSpec:
    """All a model knows about the data: how many nodes, and the cardinality of each node attribute."""

    n_nodes: int
    node_features: dict[str, int]  # name -> cardinality (values 0..card-1)

    def to_dict(self) -> dict[str, Any]:
        return {"n_nodes": self.n_nodes, "node_features": dict(self.node_features)}


class GraphDataModule(CaseDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__(cfg, cache_dir, seed, pin_memory)
        self.steps_per_epoch = 1  # set by the recipe from link_training.steps_per_epoch
        self.pairs_per_step = 1  # pairs each training step scores (targets and negatives): the throughput unit

    def prepare(self) -> GraphSpec:
        start = time.perf_counter()
        modules = [edges_module.__name__, splits_module.__name__, __name__]
        key = cache.cache_key(self.cfg, modules, {"seed": self.seed})  # the seed drives splits and negatives
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss")
        self.info["seconds"] = round(time.perf_counter() - start, 3)
        self.spec = GraphSpec(int(meta["n_nodes"]), dict(meta["node_features"]))
        self.split = GraphSplit(
            self.spec.n_nodes,
            Pairs(arrays["graph_src"], arrays["graph_dst"]),
            {s: Pairs(arrays[f"{s}_src"], arrays[f"{s}_dst"]) for s in HELD_OUT},
            {s: Pairs(arrays[f"{s}_neg_src"], arrays[f"{s}_neg_dst"]) for s in HELD_OUT},
            self.info,
            arrays.get("graph_time"),
        )
        names = list(self.spec.node_features)
        self.node_features = torch.from_numpy(
            np.stack([arrays[f"feature_{f}"] for f in names], axis=1)
            if names
            else np.zeros((self.spec.n_nodes, 0), np.int64)
        )
        return self.spec

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        edges, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, EdgeList, "an edge list")
        graph = clean(edges)
        for name, values in graph.node_features.items():
            if len(values) != graph.n_nodes:
                raise DataError(
                    f"dataset '{self.cfg.name}': node attribute '{name}' has {len(values)} values for "
                    f"{graph.n_nodes} nodes: every node needs one."
                )
        strategy = str(self.cfg.get("split_strategy") or "random")
        split = split_graph(graph, strategy, list(self.cfg.split), int(self.cfg.get("eval_negatives") or 0), self.seed)
        arrays = {"graph_src": split.graph.src, "graph_dst": split.graph.dst}
        if split.graph_time is not None:
            arrays["graph_time"] = split.graph_time
        for s in HELD_OUT:
            arrays.update(
                {
                    f"{s}_src": split.held_out[s].src,
                    f"{s}_dst": split.held_out[s].dst,
                    f"{s}_neg_src": split.negatives[s].src,
                    f"{s}_neg_dst": split.negatives[s].dst,
                }
            )
        cardinalities = {}
        for name, values in graph.node_features.items():
            _, codes = np.unique(np.asarray(values), return_inverse=True)
            arrays[f"feature_{name}"] = codes.astype(np.int64)
            cardinalities[name] = int(codes.max()) + 1 if len(codes) else 1
        info = {
            "source": edges.source,
            "edges_read": len(edges.src),
            "dropped": graph.dropped,
            **split.info,
            "read_seconds": round(read_seconds, 3),
        }
        meta = {"n_nodes": graph.n_nodes, "node_features": cardinalities, "info": info, "arrays": sorted(arrays)}
        return arrays, meta

    # Full batch: the loaders say how many steps and evaluations; the task holds the graph itself. A step's
    # "batch" is a marker as long as the pairs it scores, so throughput is counted in scored pairs.
    def train_dataloader(self) -> DataLoader:
        marker = {"pairs": torch.zeros(self.pairs_per_step, dtype=torch.bool)}
        return DataLoader([marker] * self.steps_per_epoch, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(torch.zeros(1, dtype=torch.long), batch_size=1)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(torch.zeros(1, dtype=torch.long), batch_size=1)
