"""Near-duplicate (copy) detection: which catalogue image, if any, is a query an edited copy of?

A search embedding is the wrong tool for it: trained so that different photos of one kind land close, it
makes an image's copy and its class-mates alike on purpose (measured: recall@1 0.51-0.65 with supcon, 0.89
with NT-Xent). Copy detection matches the image itself, with the two standard parts of copy-detection
systems (the database-side augmentation of the Image Similarity Challenge's baselines, Douze et al. 2021):

- a descriptor that ignores global photometric edits. `tiny_image(size)`: the image area-averaged to
  `size` x `size` (sensor noise and resampling blur average out), its mean removed and scaled to unit
  length, so a brightness gain and a contrast change cancel (cosine = normalised cross-correlation);
  colour channels are kept. Or the trained encoder's embedding (`descriptor: encoder`);
- reference views: each catalogue image is also described cropped — every (width, height) pair of
  `view_sizes` (shares of the side) at `view_positions` places per axis — and mirrored when `flips`, so a
  cropped or re-framed copy meets a view of its original that lines up with it. A reference scores its
  best view's similarity.

    index = CopyIndex(tiny_image(8), view_sizes=(1.0, 0.93, 0.86, 0.78), view_positions=3)
    index.build(catalogue)                    # float [N, C, H, W] in [0, 1]
    scores, ids = index.search(queries, k)    # [Q, k]: best reference first, its best view's cosine

The views must cover the edits: a crop of area share a and aspect r keeps a side of sqrt(a r), so queries
cropped to 80-100% of the area with aspect 3/4-4/3 need sides down to 0.78. Memory: N x views x descriptor
floats (100 views of an 8 x 8 RGB tiny image: 77 KB per catalogue image). Search is exact (a matrix product
per chunk of queries: every view read per query), or, given an `index` (framework.serving.index: faiss IVF,
HNSW), approximate: the index's best `candidates` views of each query, each reference scored by its best
view among them — the best match is exact whenever the index finds the best view.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

Describe = Callable[[torch.Tensor], torch.Tensor]  # float images [B, C, H, W] -> vectors [B, D]
_CHUNK = 512


class VectorIndex(Protocol):
    """What the views' index must do (framework.serving.index's wrappers do; named here, not imported, so
    search stays below serving)."""

    def build(self, vectors: np.ndarray) -> None: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def describe(self) -> dict[str, Any]: ...


_SCORES_PER_CHUNK = 1 << 24  # query x view similarities held at once in `search`


def tiny_image(size: int) -> Describe:
    """The tiny-image descriptor: area-averaged to size x size, mean removed, unit length."""

    def describe(images: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(images, size) if images.shape[-1] != size or images.shape[-2] != size else images
        flat = x.flatten(1)
        return F.normalize(flat - flat.mean(1, keepdim=True), dim=1)

    return describe


def view_boxes(sizes: Sequence[float], positions: int, flips: bool) -> list[tuple[float, float, float, float, bool]]:
    """(width, height, centre x, centre y, mirrored) of every view, in [-1, 1] image coordinates; a side of
    1.0 has one place, a smaller one `positions` places from one edge to the other."""

    def places(side: float) -> list[float]:
        if side >= 1.0 or positions == 1:
            return [0.0]
        return [-(1 - side) + 2 * (1 - side) * i / (positions - 1) for i in range(positions)]

    boxes = []
    for w, h in itertools.product(sizes, sizes):
        for cx, cy in itertools.product(places(w), places(h)):
            boxes.extend((w, h, cx, cy, mirror) for mirror in ((False, True) if flips else (False,)))
    return boxes


def crop_view(images: torch.Tensor, box: tuple[float, float, float, float, bool]) -> torch.Tensor:
    """One view of every image: the box resized to the full image (bilinear), mirrored if the box says so."""
    w, h, cx, cy, mirror = box
    if (w, h, cx, cy, mirror) == (1.0, 1.0, 0.0, 0.0, False):
        return images
    theta = torch.zeros(len(images), 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0], theta[:, 0, 2] = -w if mirror else w, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


class CopyIndex:
    """Exact search of queries against every view of every catalogue image; a reference's score is its best
    view's cosine similarity."""

    def __init__(
        self,
        describe: Describe,
        view_sizes: Sequence[float] = (1.0,),
        view_positions: int = 1,
        flips: bool = False,
        index: VectorIndex | None = None,
        candidates: int = 64,
    ) -> None:
        if not view_sizes or any(not 0 < s <= 1 for s in view_sizes):
            raise ValueError(f"view_sizes are shares of the image side in (0, 1], got {list(view_sizes)}")
        if view_positions < 1:
            raise ValueError(f"view_positions must be >= 1, got {view_positions}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        self.index, self.candidates = index, candidates
        self.describe = describe
        self.boxes = view_boxes(view_sizes, view_positions, flips)
        self.vectors: torch.Tensor | None = None  # [N * views, D], reference-major

    @property
    def views(self) -> int:
        return len(self.boxes)

    def _describe(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.describe(images[s : s + _CHUNK]) for s in range(0, len(images), _CHUNK)])

    def build(self, catalogue: torch.Tensor) -> CopyIndex:
        per_view = [self._describe(crop_view(catalogue, box)) for box in self.boxes]  # views x [N, D]
        self.vectors = torch.stack(per_view, 1).flatten(0, 1).float()
        if self.index is not None:
            self.index.build(self.vectors.numpy())
        return self

    @property
    def bytes_per_image(self) -> int:
        """Index memory per catalogue image: its views' float32 descriptors."""
        return 0 if self.vectors is None else self.views * self.vectors.shape[1] * 4

    def __len__(self) -> int:
        return 0 if self.vectors is None else len(self.vectors) // self.views

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The k best references of each query image: (scores [Q, k], ids [Q, k]), best first."""
        if self.vectors is None:
            raise RuntimeError("CopyIndex.search before build")
        return self.search_vectors(self._describe(queries), k)

    def search_vectors(self, described: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`search` of queries already described. With an index, a reference none of a query's candidate views
        belongs to is not found: id -1, score -inf."""
        assert self.vectors is not None
        if self.index is not None:
            return self._search_index(described, k)
        vectors, n = self.vectors, len(self)
        return _top_images(
            lambda rows: (described[rows].float() @ vectors.T).view(-1, n, self.views).amax(2),
            len(described),
            len(vectors),
            min(k, n),
        )

    def _search_index(self, described: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.index is not None and self.vectors is not None
        n, k = len(self), min(k, len(self))
        m = min(max(self.candidates, k), len(self.vectors))
        found, views = self.index.search(np.ascontiguousarray(described.float().numpy()), m)
        scores, views = torch.from_numpy(found).float(), torch.from_numpy(views).long()
        refs = torch.where(views >= 0, views // self.views, n)  # column n: the slots the index left empty

        def best_of(rows: slice) -> torch.Tensor:
            best = torch.full((len(refs[rows]), n + 1), float("-inf"))
            return best.scatter_reduce_(1, refs[rows], scores[rows], reduce="amax")[:, :n]

        return _top_images(best_of, len(refs), n + 1, k)


def _top_images(
    best_of: Callable[[slice], torch.Tensor], n_queries: int, width: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, ids) [Q, k] of the best images, from `best_of(rows)`: each image's best view score [rows, N]
    for a chunk of queries, `width` scores computed per query (chunks hold `_SCORES_PER_CHUNK`). An image
    scored -inf (not found) has id -1."""
    step = max(1, _SCORES_PER_CHUNK // max(width, 1))
    scores, ids = [], []
    for s in range(0, n_queries, step):
        top = best_of(slice(s, s + step)).topk(k, dim=1)
        scores.append(top.values)
        ids.append(top.indices.masked_fill(torch.isinf(top.values), -1))
    return torch.cat(scores), torch.cat(ids)
