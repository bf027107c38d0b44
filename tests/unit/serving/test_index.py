"""Item indexes: exact search is exact, faiss indexes report their recall against it, the retriever drops seen items."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.data.interactions.table import EntityFeatures, InteractionSpec, UserItemSets
from framework.data.tabular.features import Feature, FeatureSpec
from framework.models.retrieval.mf import MF
from framework.serving.index import (
    ExactIndex,
    FaissFlatIndex,
    FaissHNSWIndex,
    FaissIVFIndex,
    recall_against_exact,
)
from framework.serving.retriever import Retriever


def clustered(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return (centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


ITEMS, QUERIES = clustered(3000), clustered(200, seed=1)


def brute_force(k: int) -> np.ndarray:
    return np.argsort(-(QUERIES @ ITEMS.T), axis=1, kind="stable")[:, :k]


def test_exact_index_is_brute_force() -> None:
    index = ExactIndex(batch_size=64)
    index.build(ITEMS)
    scores, ids = index.search(QUERIES, 50)
    assert np.array_equal(ids, brute_force(50))
    assert np.allclose(scores, np.take_along_axis(QUERIES @ ITEMS.T, ids, 1), atol=1e-4)
    _, few = index.search(QUERIES[:2], 5000)  # more than the catalogue: padded with -1
    assert (few[:, 3000:] == -1).all() and (few[:, :3000] >= 0).all()


def test_faiss_flat_is_exact() -> None:
    index = FaissFlatIndex()
    index.build(ITEMS)
    assert recall_against_exact(index.search(QUERIES, 50)[1], brute_force(50)) == 1.0


@pytest.mark.parametrize(
    ("index", "at_least"),
    [
        (FaissIVFIndex(nlist=64, nprobe=64), 1.0),  # every cell probed: exhaustive
        (FaissIVFIndex(nlist=64, nprobe=8), 0.85),
        (FaissHNSWIndex(m=32, ef_construction=100, ef_search=256), 0.9),  # inner product, unnormalised vectors
    ],
    ids=["ivf-all-cells", "ivf", "hnsw"],
)
def test_ann_recall_against_exact(index, at_least: float) -> None:
    index.build(ITEMS)
    recall = recall_against_exact(index.search(QUERIES, 50)[1], brute_force(50))
    assert at_least <= recall <= 1.0


def test_fewer_probes_find_less() -> None:
    full, narrow = FaissIVFIndex(nlist=64, nprobe=64), FaissIVFIndex(nlist=64, nprobe=1)
    for index in (full, narrow):
        index.build(ITEMS)
    exact = brute_force(50)
    assert recall_against_exact(narrow.search(QUERIES, 50)[1], exact) < recall_against_exact(
        full.search(QUERIES, 50)[1], exact
    )


def test_hnsw_is_reproducible() -> None:
    a, b = FaissHNSWIndex(m=8, ef_search=16), FaissHNSWIndex(m=8, ef_search=16)
    a.build(ITEMS)
    b.build(ITEMS)
    assert np.array_equal(a.search(QUERIES, 20)[1], b.search(QUERIES, 20)[1])


def test_ivf_caps_cells_for_a_small_catalogue() -> None:
    index = FaissIVFIndex(nlist=1000, nprobe=8)
    index.build(ITEMS[:400])
    assert index.describe()["nlist"] == 400 // 39


def test_retriever_drops_seen_items_and_keeps_index_order() -> None:
    n_users, n_items = 5, 30
    spec = InteractionSpec(
        n_users,
        n_items,
        FeatureSpec((Feature("user_id", "categorical", n_users),), ""),
        FeatureSpec((Feature("item_id", "categorical", n_items),), ""),
    )
    torch.manual_seed(0)
    model = MF(spec, embedding_dim=8)
    users = EntityFeatures(np.arange(n_users)[:, None], np.zeros((n_users, 0), np.float32))
    items = EntityFeatures(np.arange(n_items)[:, None], np.zeros((n_items, 0), np.float32))
    retriever = Retriever(model, users, items, ExactIndex())
    scores = retriever.user_vectors(torch.arange(n_users)) @ retriever.item_vectors.T
    seen_user = np.array([0, 0, 0, 1] + [2] * 26)
    seen_item = np.r_[np.argsort(-scores[0])[:3], [5], np.arange(26)]  # user 0: its three best items
    history = UserItemSets(seen_user, seen_item, n_users, n_items)
    found = retriever.candidates(torch.arange(n_users), history, k=10)
    for u in range(n_users):
        row = found.items[u]
        real = row[row >= 0]
        assert not set(real.tolist()) & set(seen_item[seen_user == u].tolist())
        order = np.argsort(-scores[u], kind="stable")
        expected = [i for i in order if i not in set(seen_item[seen_user == u].tolist())][:10]
        assert real.tolist() == expected
    assert (found.items[2] >= 0).sum() == 4 and torch.isinf(found.scores[2, 4:]).all()  # 30 - 26 unseen: padded
    items_one, _ = retriever.request(0, history, 10)  # the single-request path agrees with the batched one
    assert items_one.tolist() == found.items[0].tolist()
