"""Visual search's test-time evaluation and serving (image -> embedding -> index -> top k).

- near-duplicate search: every test image, edited (`contrastive.near_duplicate`: a crop, jitter, noise: a
  re-upload or a screenshot of it), queries the test catalogue; its original and the other photos of the same
  item are the relevant ones (`near_duplicate/recall@1`: the share whose first result is one of them);
- same-item search, when the source knows instances: the other views of the query's item are relevant;
- the index (`index`: exact, faiss Flat, IVF, HNSW) holds the test catalogue: its recall@10 against exact
  search and its batch query time;
- serving: one image at a time, end to end on CPU, against the budget; and the catalogue's indexing
  throughput (embed + add, images/s).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data.images.augment import Augment, to_float
from framework.data.retrieval.datamodule import RetrievalDataModule
from framework.serving.index import ExactIndex, recall_against_exact
from framework.serving.latency import request_latency
from framework.tasks.contrastive_retrieval.config import settings
from framework.tasks.contrastive_retrieval.evaluation import evaluate_scores

_CHUNK = 512
INDEX_K = 10


def augmentation(values: dict[str, Any] | None) -> Augment | None:
    """The `Augment` of a config node's values (None: no augmentation); lists become the tuples it takes."""
    if values is None:
        return None
    return Augment(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def as_float(images: np.ndarray) -> torch.Tensor:
    return to_float(torch.from_numpy(np.ascontiguousarray(images)))


def embed(model: torch.nn.Module, images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, C] -> unit vectors [N, dim] (CPU, in chunks)."""
    images = torch.as_tensor(images)
    return torch.cat([model(to_float(images[s : s + _CHUNK])) for s in range(0, len(images), _CHUNK)])


def _near_duplicates(images: np.ndarray, augment: Augment, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = as_float(images)
    return torch.cat([augment(x[s : s + _CHUNK], generator) for s in range(0, len(x), _CHUNK)])


def evaluate_test(
    model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig, metrics: dict[str, Metric]
) -> tuple[dict[str, float], dict[str, Any]]:
    test = data.array("test", "images")
    catalogue = embed(model, test)
    out: dict[str, float] = {}
    record: dict[str, Any] = {"catalogue": len(test)}
    near = augmentation(settings(cfg).near_duplicate)
    if near is not None:
        queries = torch.cat([model(q) for q in _near_duplicates(test, near, int(cfg.seed) + 1).split(_CHUNK)])
        instances = torch.from_numpy(data.array("test", "instances"))
        same = torch.eye(len(test), dtype=torch.bool)  # the edited image's original ...
        if (instances >= 0).all():
            same |= instances[:, None] == instances[None, :]  # ... or another photo of the same item
        top = torch.topk(queries @ catalogue.T, min(10, len(test)), dim=1).indices
        hits = same.gather(1, top)
        for k in (1, 10):
            out[f"test/near_duplicate/recall@{k}"] = float(hits[:, :k].any(1).float().mean())
    instances = torch.from_numpy(data.array("test", "instances"))
    if (instances >= 0).all():
        gains = (instances[:, None] == instances[None, :]).float()
        exclude = torch.eye(len(test), dtype=torch.bool)
        same_item = evaluate_scores(metrics, catalogue @ catalogue.T, gains, exclude)
        out.update({f"test/same_item/{k}": v for k, v in same_item.items()})
    vectors = catalogue.numpy().astype(np.float32)
    index = instantiate(cfg.index)
    index.build(vectors)
    exact = ExactIndex()
    exact.build(vectors)
    k = min(INDEX_K, len(vectors))
    start = time.perf_counter()
    _, ids = index.search(vectors, k)
    seconds = time.perf_counter() - start
    _, exact_ids = exact.search(vectors, k)
    out[f"index/recall@{INDEX_K}"] = recall_against_exact(ids, exact_ids)
    out["index/query_ms"] = 1000.0 * seconds / len(vectors)
    record["index"] = {**index.describe(), "k": k, "queries": len(vectors)}
    return out, record


def serving(model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig) -> dict[str, Any]:
    """Index the whole catalogue (every split: what the product would hold), then one image query at a time."""
    catalogue = np.concatenate([data.array(p, "images") for p in ("train", "valid", "test")])
    start = time.perf_counter()
    index = instantiate(cfg.index)
    index.build(embed(model, catalogue).numpy())
    indexing_s = time.perf_counter() - start
    queries = torch.from_numpy(data.array("test", "images"))
    k = int(cfg.case.serving.list_size)

    def request(i: int) -> None:
        j = i % len(queries)
        index.search(model(to_float(queries[j : j + 1])).numpy(), k)

    what = f"one {data.spec.image_size}px image: encoder, {index.name} index, top {k} (CPU)"
    return {
        **request_latency(request, cfg.case, what),
        "catalogue": len(catalogue),
        "indexing_images_per_s": len(catalogue) / max(indexing_s, 1e-9),
    }
