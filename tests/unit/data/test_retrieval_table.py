"""RetrievalCorpus refuses what no retrieval run can use: empty queries, texts of unknown items, half-given qrels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError


def _videos(**kw) -> RetrievalCorpus:
    items = {"frames": np.zeros((2, 3, 4), np.float32), "frame_counts": np.array([3, 3])}
    return RetrievalCorpus(items=items, item_ids=["a", "b"], source="test.csv", **kw)


def test_an_empty_query_is_a_data_error():
    queries = pl.DataFrame({"query": [0, 1], "text": ["a dog runs", "   "]})
    qrels = pl.DataFrame({"query": [0, 1], "item": [0, 1], "grade": [1, 1]})
    with pytest.raises(DataError, match="empty quer"):
        _videos(queries=queries, qrels=qrels)


def test_texts_of_unknown_items_and_half_given_qrels_are_data_errors():
    with pytest.raises(DataError, match=r"outside 0\.\.1"):
        _videos(texts=pl.DataFrame({"item": [0, 5], "text": ["x", "y"], "field": ["caption", "caption"]}))
    with pytest.raises(DataError, match="come together"):
        _videos(queries=pl.DataFrame({"query": [0], "text": ["x"]}))
    assert _videos().modality == "videos"
