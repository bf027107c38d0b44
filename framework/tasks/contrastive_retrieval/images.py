"""Visual search's test-time evaluation and serving (image -> embedding -> index -> top k).

- near-duplicate search: every test image, edited (`contrastive.near_duplicate`: a crop, jitter, noise: a
  re-upload or a screenshot of it), queries the test catalogue through the copy detector
  (`copy_detection`: a tiny-image descriptor or the encoder, over reference views of each catalogue image;
  framework.search.copy_detection); its original and the other photos of the same item are the relevant
  ones. `near_duplicate/recall@1`, `@10`: the share with a relevant one first / in the top 10;
  `near_duplicate/micro_ap`: the edited valid images (no original in the catalogue) query too, as
  distractors, and every query's best match is ranked by its score (μAP: one threshold for all queries);
  `near_duplicate/encoder/recall@1`: the search embedding alone, for comparison;
- same-item search, when the source knows instances: the other views of the query's item are relevant;
- the index (`index`: exact, faiss Flat, IVF, HNSW) holds the test catalogue: its recall@10 against exact
  search and its batch query time;
- serving: one image at a time, end to end on CPU, against the budget; the catalogue's indexing
  throughput (embed + add, images/s); and one near-duplicate check (describe, search the test catalogue's views).
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
from framework.metrics.search import micro_average_precision
from framework.search.copy_detection import CopyIndex, tiny_image
from framework.serving.index import ExactIndex, recall_against_exact
from framework.serving.latency import request_latency
from framework.tasks.contrastive_retrieval.config import copy_settings, settings
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


def copy_index(model: torch.nn.Module, cfg: DictConfig) -> CopyIndex:
    """The near-duplicate detector of `copy_detection` (none: the encoder over the images as they are)."""
    c = copy_settings(cfg)
    if c is None:
        return CopyIndex(model)
    describe = tiny_image(c.tiny_size) if c.descriptor == "tiny_image" else model
    index = instantiate(cfg.copy_detection.index) if c.index is not None else None
    return CopyIndex(describe, c.view_sizes, c.view_positions, c.flips, index, c.candidates)


def _near_duplicate_search(
    model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig, near: Augment, catalogue: torch.Tensor
) -> tuple[dict[str, float], dict[str, Any]]:
    test = data.array("test", "images")
    queries = _near_duplicates(test, near, int(cfg.seed) + 1)
    distractors = _near_duplicates(data.array("valid", "images"), near, int(cfg.seed) + 2)
    instances = torch.from_numpy(data.array("test", "instances"))
    same = torch.eye(len(test), dtype=torch.bool)  # the edited image's original ...
    if (instances >= 0).all():
        same |= instances[:, None] == instances[None, :]  # ... or another photo of the same item
    k = min(10, len(test))
    out: dict[str, float] = {}
    top = torch.topk(torch.cat([model(q) for q in queries.split(_CHUNK)]) @ catalogue.T, k, dim=1).indices
    out["test/near_duplicate/encoder/recall@1"] = float(same.gather(1, top[:, :1]).float().mean())
    index = copy_index(model, cfg).build(as_float(test))
    scores, ids = index.search(queries, k)
    hits = same.gather(1, ids.clamp_min(0)) & (ids >= 0)  # -1: an ANN over the views found fewer images
    for n in (1, 10):
        out[f"test/near_duplicate/recall@{n}"] = float(hits[:, :n].any(1).float().mean())
    lure_scores, _ = index.search(distractors, 1)
    best = torch.cat([scores[:, 0], lure_scores[:, 0]])
    correct = torch.cat([hits[:, 0], torch.zeros(len(distractors), dtype=torch.bool)])
    out["test/near_duplicate/micro_ap"] = micro_average_precision(best, correct, len(test))
    c = copy_settings(cfg)
    record = {
        "descriptor": "encoder" if c is None else c.descriptor,
        "views_per_image": index.views,
        "bytes_per_image": index.bytes_per_image,
        "views_index": None if index.index is None else index.index.describe(),
        "queries": len(test),
        "distractors": len(distractors),
    }
    return out, record


def evaluate_test(
    model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig, metrics: dict[str, Metric]
) -> tuple[dict[str, float], dict[str, Any]]:
    test = data.array("test", "images")
    catalogue = embed(model, test)
    out: dict[str, float] = {}
    record: dict[str, Any] = {"catalogue": len(test)}
    near = augmentation(settings(cfg).near_duplicate)
    if near is not None:
        found, record["near_duplicate"] = _near_duplicate_search(model, data, cfg, near, catalogue)
        out.update(found)
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
    out = {
        **request_latency(request, cfg.case, what),
        "catalogue": len(catalogue),
        "indexing_images_per_s": len(catalogue) / max(indexing_s, 1e-9),
    }
    near = augmentation(settings(cfg).near_duplicate)
    if near is not None:  # against the test catalogue's views, as evaluated (views x descriptor floats per image)
        test = data.array("test", "images")
        copies = copy_index(model, cfg).build(as_float(test))
        edited = _near_duplicates(test, near, int(cfg.seed) + 1)

        def check(i: int) -> None:
            j = i % len(edited)
            copies.search(edited[j : j + 1], 1)

        what = f"one edited image: copy descriptor, {copies.views} views x {len(test)} test images, best match"
        out["near_duplicate"] = request_latency(check, cfg.case, what)
    return out
