"""The serving encoder without a trained run: an encoder fit on a small table, saved as JSON and rebuilt,
encodes any rows exactly as the fitted one (vocabulary with OOV and missing, hashing, string and integer
ids, missing numbers), and bad rows get messages naming the column and the row."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from framework.data.tabular.features import MISSING, OOV, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.deployment.commands import parse
from framework.errors import ConfigError, DataError
from framework.serving.encode import RowEncoder, request_frame


def _table(n: int = 200, seed: int = 0) -> RawTable:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "n1": pl.Series(rng.integers(-2, 1000, n)).scatter([0, 5], None),
            "c_int": pl.Series(rng.zipf(1.5, n).astype(np.uint32) % 50, dtype=pl.UInt32).scatter([1], None),
            "c_str": pl.Series([f"{v:08x}" for v in rng.integers(0, 30, n)]).scatter([2], None),
        }
    )
    return RawTable(frame, "label", ["n1"], ["c_int", "c_str"], "test table")


@pytest.mark.parametrize(
    "settings",
    [{"min_count": 3}, {"min_count": 1, "hash_buckets": 16}, {"min_count": 2, "missing_indicators": True}],
    ids=["vocabulary", "hashing", "indicators"],
)
def test_rebuilt_encoder_encodes_as_the_fitted_one(settings: dict) -> None:
    table = _table()
    fitted = TabularEncoder(**settings)
    fitted.fit(table, n_train=150)
    state = json.loads(json.dumps(fitted.state(table)))  # through JSON, as the artefact keeps it
    other = _table(seed=1)  # rows the encoder never saw: unseen ids, other numbers
    expected = fitted.transform(other)
    encoded = RowEncoder(state).encode(other.frame.drop("label"))
    np.testing.assert_array_equal(encoded.categorical, expected.categorical)
    np.testing.assert_array_equal(encoded.numeric, expected.numeric)
    if "hash_buckets" not in settings:
        assert (encoded.categorical == OOV).any() and (encoded.categorical == MISSING).any()


def test_request_frame_repeats_the_context_and_casts_ids() -> None:
    table = _table()
    encoder = TabularEncoder(min_count=1)
    encoder.fit(table, n_train=200)
    rows = RowEncoder(encoder.state(table))
    known = table.frame.get_column("c_str")[0]
    frame = request_frame({"n1": 5, "c_str": known}, [{"c_int": 1}, {"c_int": 10**6}, {"c_int": None, "n1": None}])
    encoded = rows.encode(frame)
    assert encoded.categorical.shape == (3, 2) and encoded.categorical.dtype == np.int64
    assert encoded.categorical[1, 0] == OOV and encoded.categorical[2, 0] == MISSING
    assert (encoded.categorical[:, 1] >= 2).all()  # the context's known id, on every candidate
    assert encoded.numeric[2, 0] == 0.0


def test_bad_rows_name_the_column_and_row() -> None:
    table = _table()
    encoder = TabularEncoder()
    encoder.fit(table, n_train=200)
    rows = RowEncoder(encoder.state(table))
    good = table.frame.drop("label").head(3)
    with pytest.raises(DataError, match=r"f.csv: column c_str is missing"):
        rows.encode(good.drop("c_str"), source="f.csv")
    with pytest.raises(DataError, match=r"req, row 12, column c_int: expected an integer id \(UInt32\)"):
        rows.encode(good.with_columns(pl.Series("c_int", ["1", "x", "2"])), source="req", row_offset=10)
    with pytest.raises(DataError, match=r"row 1, column n1: NaN or infinite"):
        rows.encode(good.with_columns(pl.Series("n1", [float("inf"), 1.0, 2.0])))
    with pytest.raises(DataError, match=r"row 2, column n1: expected a number"):
        rows.encode(good.with_columns(pl.Series("n1", ["1", "abc", "2"])))


def test_command_arguments_are_checked() -> None:
    assert parse("predict", ["input=a.csv", "keep=[id]"]) == {"input": "a.csv", "keep": "[id]"}
    with pytest.raises(ConfigError, match=r"unknown argument 'inptu'\. Did you mean 'input'"):
        parse("predict", ["inptu=a.csv"])
    with pytest.raises(ConfigError, match="expected key=value"):
        parse("export", ["outputs/run"])
