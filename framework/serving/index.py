"""Maximum-inner-product search over item vectors: exact (batched matrix product) or faiss.

Every index has `build(vectors)` and `search(queries, k) -> (scores, ids)`, numpy in and out; an id of
-1 means the index found fewer than k items. `recall_against_exact` measures an approximate index
against exact search: the share of the exact top k that the index also returns.

    index = FaissHNSWIndex(m=32, ef_search=128)
    index.build(item_vectors)                    # float32 [I, E]
    scores, ids = index.search(user_vectors, 100)   # [U, 100] each
"""

from __future__ import annotations

import time

import numpy as np
import torch


class VectorIndex:
    name = "index"

    def __init__(self) -> None:
        self.n_items = 0
        self.build_seconds = 0.0

    def build(self, vectors: np.ndarray) -> None:
        start = time.perf_counter()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_items = len(vectors)
        self._build(vectors)
        self.build_seconds = time.perf_counter() - start

    def _build(self, vectors: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"index": self.name, "items": self.n_items, "build_seconds": round(self.build_seconds, 4)}


class ExactIndex(VectorIndex):
    """Brute force: scores = queries @ items^T in blocks of `batch_size` queries, then top-k."""

    name = "exact"

    def __init__(self, batch_size: int = 1024) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = batch_size
        self.items = torch.zeros(0, 0)

    def _build(self, vectors: np.ndarray) -> None:
        self.items = torch.from_numpy(vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k_found = min(k, self.n_items)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        ids = np.full((len(queries), k), -1, np.int64)
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
        with torch.inference_mode():
            for s in range(0, len(q), self.batch_size):
                top = (q[s : s + self.batch_size] @ self.items.T).topk(k_found, dim=1)
                scores[s : s + self.batch_size, :k_found] = top.values.numpy()
                ids[s : s + self.batch_size, :k_found] = top.indices.numpy()
        return scores, ids


class _FaissIndex(VectorIndex):
    def __init__(self) -> None:
        super().__init__()
        self.index = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._prepare_search(k)
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def _prepare_search(self, k: int) -> None:
        pass


class FaissFlatIndex(_FaissIndex):
    """faiss IndexFlatIP: exact inner-product search in faiss' own kernels (a baseline for the ANN indexes)."""

    name = "faiss_flat"

    def _build(self, vectors: np.ndarray) -> None:
        import faiss

        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)


class FaissIVFIndex(_FaissIndex):
    """Inverted file: k-means into `nlist` cells; a query scans the `nprobe` cells nearest to it.
    `nlist` is capped at items / 39 (faiss' minimum of training points per centroid)."""

    name = "faiss_ivf"

    def __init__(self, nlist: int = 64, nprobe: int = 8) -> None:
        super().__init__()
        if nlist < 1 or nprobe < 1:
            raise ValueError("nlist and nprobe must be positive")
        self.nlist, self.nprobe = nlist, nprobe
        self.nlist_used = nlist

    def _build(self, vectors: np.ndarray) -> None:
        import faiss

        self.nlist_used = max(1, min(self.nlist, len(vectors) // 39))
        quantizer = faiss.IndexFlatIP(vectors.shape[1])
        self.index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], self.nlist_used, faiss.METRIC_INNER_PRODUCT)
        self.index.cp.seed = 1234  # k-means initialisation: the same cells every run
        self.index.train(vectors)
        self.index.add(vectors)
        self.index.nprobe = min(self.nprobe, self.nlist_used)

    def describe(self) -> dict:
        return {**super().describe(), "nlist": self.nlist_used, "nprobe": min(self.nprobe, self.nlist_used)}


class FaissHNSWIndex(_FaissIndex):
    """Hierarchical navigable small-world graph (inner product). `ef_search` (raised to k when smaller)
    trades recall for speed. Built on one thread: parallel insertion would make the graph, and so the
    results, differ between runs."""

    name = "faiss_hnsw"

    def __init__(self, m: int = 32, ef_construction: int = 100, ef_search: int = 128) -> None:
        super().__init__()
        if m < 2 or ef_construction < 1 or ef_search < 1:
            raise ValueError("m must be at least 2, ef_construction and ef_search positive")
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search

    def _build(self, vectors: np.ndarray) -> None:
        import faiss

        self.index = faiss.IndexHNSWFlat(vectors.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.ef_construction
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            self.index.add(vectors)
        finally:
            faiss.omp_set_num_threads(threads)

    def _prepare_search(self, k: int) -> None:
        self.index.hnsw.efSearch = max(self.ef_search, k)

    def describe(self) -> dict:
        return {**super().describe(), "m": self.m, "ef_search": self.ef_search}


def recall_against_exact(approximate: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of |approximate top k ∩ exact top k| / (exact ids found), ids of shape [Q, k]."""
    found, total = 0, 0
    for s in range(0, len(exact), 256):  # [256, k, k] comparisons at a time
        a = torch.from_numpy(approximate[s : s + 256])
        e = torch.from_numpy(exact[s : s + 256])
        valid = e >= 0
        match = (e[:, :, None] == a[:, None, :]).any(-1) & valid
        found += int(match.sum())
        total += int(valid.sum())
    return found / max(total, 1)
