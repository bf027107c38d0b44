"""The tabular encoder: vocabularies from train only, OOV and missing buckets, hashing, numeric transforms."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from framework.data.tabular.features import FIRST_ID, MISSING, OOV, FeatureSpec, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.errors import DataError


def table(frame: dict) -> RawTable:
    df = pl.DataFrame(frame)
    numeric = [c for c in df.columns if c.startswith("n")]
    categorical = [c for c in df.columns if c.startswith("c")]
    return RawTable(df, "y", numeric, categorical, source="test")


T = table(
    {
        "y": [0, 1, 0, 1, 0, 1],
        "c1": ["a", "a", "b", None, "a", "z"],  # train = first 4 rows
        "n1": [0, 3, None, 8, 1, -2],
    }
)


def test_vocabulary_is_fit_on_train_rows_only_most_frequent_first() -> None:
    enc = TabularEncoder(min_count=1)
    spec = enc.fit(T, n_train=4)
    codes = enc.transform(T).categorical[:, 0]
    # train ids: a (2x) -> 2, b (1x) -> 3; missing -> 1; 'z' only after train -> OOV 0
    assert codes.tolist() == [FIRST_ID, FIRST_ID, FIRST_ID + 1, MISSING, FIRST_ID, OOV]
    assert spec.categorical[0].cardinality == FIRST_ID + 2


def test_min_count_sends_rare_ids_to_the_oov_bucket() -> None:
    enc = TabularEncoder(min_count=2)
    enc.fit(T, n_train=4)
    assert enc.transform(T).categorical[:, 0].tolist() == [FIRST_ID, FIRST_ID, OOV, MISSING, FIRST_ID, OOV]


def test_ties_are_broken_by_value_so_ids_are_deterministic() -> None:
    t = table({"y": [0, 1, 0, 1], "c1": ["q", "p", "r", "p"], "n1": [1, 1, 1, 1]})
    enc = TabularEncoder()
    enc.fit(t, n_train=4)
    assert enc.vocabularies["c1"]["c1"].to_list() == ["p", "q", "r"]


def test_hashing_trick_keeps_ids_in_range_and_is_stable() -> None:
    enc = TabularEncoder(hash_buckets=5)
    spec = enc.fit(T, n_train=4)
    codes = enc.transform(T).categorical[:, 0]
    assert spec.categorical[0].cardinality == FIRST_ID + 5  # min(5, 2 x 3 distinct train values incl. null)
    assert codes[3] == MISSING
    assert all(FIRST_ID <= c < FIRST_ID + 5 for i, c in enumerate(codes) if i != 3)
    assert codes[0] == codes[1] == codes[4]  # same value, same bucket
    again = TabularEncoder(hash_buckets=5)
    again.fit(T, n_train=4)
    assert np.array_equal(again.transform(T).categorical, enc.transform(T).categorical)


def test_small_fields_get_at_most_twice_their_distinct_values_in_buckets() -> None:
    enc = TabularEncoder(hash_buckets=1_000_000)
    spec = enc.fit(T, n_train=4)
    assert spec.categorical[0].cardinality == FIRST_ID + 6


def test_numeric_signed_log1p_then_train_standardisation() -> None:
    enc = TabularEncoder(numeric_transform="log1p", standardize=True, missing_indicators=True)
    spec = enc.fit(T, n_train=4)
    x = enc.transform(T).numeric
    train = [math.log1p(0), math.log1p(3), math.log1p(8)]  # the train non-missing values
    mean, std = np.mean(train), np.std(train, ddof=1)
    assert x[1, 0] == pytest.approx((math.log1p(3) - mean) / std, rel=1e-5)
    assert x[2, 0] == 0.0  # missing -> the train mean
    assert x[5, 0] == pytest.approx((-math.log1p(2) - mean) / std, rel=1e-5)  # sign kept
    assert [f.name for f in spec.numeric] == ["n1", "n1_missing"]
    assert x[:, 1].tolist() == [0, 0, 1, 0, 0, 0]


def test_no_transform_no_standardisation_fills_missing_with_the_mean() -> None:
    enc = TabularEncoder(numeric_transform="none", standardize=False)
    enc.fit(T, n_train=4)
    x = enc.transform(T).numeric[:, 0]
    assert x.tolist() == pytest.approx([0, 3, 11 / 3, 8, 1, -2], rel=1e-6)


def test_nan_in_a_numeric_feature_is_a_data_error() -> None:
    t = table({"y": [0, 1, 0], "c1": ["a", "b", "a"], "n1": [1.0, float("nan"), 2.0]})
    enc = TabularEncoder()
    with pytest.raises(DataError, match="n1 is NaN or infinite in data row 2"):
        enc.fit(t, n_train=3)
        enc.transform(t)


def test_feature_spec_round_trips() -> None:
    enc = TabularEncoder()
    spec = enc.fit(T, n_train=4)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    assert spec.cardinalities == [FIRST_ID + 2] and spec.n_numeric == 1
