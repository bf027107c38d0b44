"""The server's dict-lookup encoder gives `TabularEncoder.transform`'s ids exactly and its values to float
rounding, for every encoder setting it takes; for anything else it steps aside (None) for the polars path."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.data.tabular.features import MISSING, OOV, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.serving.encode import RowEncoder, request_frame
from framework.serving.lookup import LookupEncoder


def _state(**settings) -> dict:
    """An encoder fit on 400 rows: an integer id column, a string id column, two numbers with nulls."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pl.DataFrame(
        {
            "ad": pl.Series(rng.zipf(1.6, n) % 50, dtype=pl.UInt32),
            "site": [f"s{v}" for v in rng.zipf(1.4, n) % 30],
            "count": [None if i % 7 == 0 else float(v) for i, v in enumerate(rng.poisson(20, n) - 3)],
            "score": [None if i % 11 == 0 else float(v) for i, v in enumerate(rng.normal(0, 3, n))],
            "label": rng.integers(0, 2, n),
        }
    )
    table = RawTable(frame, "label", ["count", "score"], ["ad", "site"], "fit.csv")
    encoder = TabularEncoder(**settings)
    encoder.fit(table, n)
    return encoder.state(table)


def _requests(rng: np.random.Generator) -> list[tuple[dict, list[dict]]]:
    out = []
    for _ in range(30):
        n = int(rng.integers(1, 40))
        context = {"count": float(rng.integers(-5, 60))} if rng.random() < 0.5 else {}
        candidates = []
        for _ in range(n):
            row = {
                "ad": int(rng.integers(0, 80)),  # ids 50..79 never seen: out of vocabulary
                "site": f"s{rng.integers(0, 45)}",
                "score": float(rng.normal(0, 3)),
            }
            if not context or rng.random() < 0.3:
                row["count"] = int(rng.integers(-5, 60)) if rng.random() < 0.5 else float(rng.normal(10, 5))
            for key in ("ad", "site", "score", "count"):
                if key in row and rng.random() < 0.08:
                    row[key] = None  # a missing id or number
            candidates.append(row)
        out.append((context, candidates))
    return out


@pytest.mark.parametrize(
    "settings",
    [
        {"min_count": 1},
        {"min_count": 3, "numeric_transform": "none"},
        {"min_count": 2, "missing_indicators": True},
        {"standardize": False},
    ],
    ids=["vocabulary", "rare-ids-plain-numbers", "missing-indicators", "unstandardised"],
)
def test_lookup_encoding_equals_the_training_encoder(settings: dict) -> None:
    state = _state(**settings)
    reference = RowEncoder(state)
    lookup = LookupEncoder(reference, state)
    assert lookup.supported
    seen = set()
    for context, candidates in _requests(np.random.default_rng(1)):
        fast = lookup.encode(context, candidates)
        assert fast is not None
        slow = reference.encode(request_frame(context, candidates))
        np.testing.assert_array_equal(fast.categorical, slow.categorical)
        np.testing.assert_allclose(fast.numeric, slow.numeric, rtol=1e-6, atol=1e-6)
        seen |= set(np.unique(fast.categorical).tolist())
    assert {OOV, MISSING} <= seen  # the requests did exercise unseen and missing ids


def test_lookup_steps_aside_for_what_only_the_polars_path_handles() -> None:
    state = _state()
    lookup = LookupEncoder(RowEncoder(state), state)
    good = {"ad": 3, "site": "s1", "count": 4.0, "score": 0.5}
    assert lookup.encode({}, [good]) is not None
    for change in (
        {"ad": "3"},  # a string for an integer id: polars casts it, or names it
        {"ad": -1},  # outside UInt32
        {"ad": 3.0},
        {"ad": True},
        {"site": 7},  # a number for a string id
        {"score": float("nan")},
        {"score": "high"},
    ):
        assert lookup.encode({}, [{**good, **change}]) is None, change
    assert lookup.encode({}, [{k: v for k, v in good.items() if k != "score"}]) is None  # a missing column
    assert lookup.encode({}, []) is None
    hashed = _state(hash_buckets=64)
    assert not LookupEncoder(RowEncoder(hashed), hashed).supported  # hashed ids: polars' hash
