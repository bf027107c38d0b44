"""Out-of-core encoding: the in-memory encoder's arrays, in chunks of any size; errors name the right line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.data.formats import avazu, criteo
from framework.data.synthetic.click_log import generate
from framework.data.tabular.delimited import DelimitedFormat
from framework.data.tabular.features import TabularEncoder, check_finite
from framework.data.tabular.out_of_core import PARTS, SPLITS, encode_file
from framework.data.tabular.table import RawTable, split_sizes
from framework.errors import DataError

SPLIT = [0.8, 0.1, 0.1]


@pytest.fixture(scope="module")
def criteo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 rows of the synthetic log (missing values in numeric and categorical fields) as a DAC file."""
    return criteo.write_criteo(generate(n_rows=300, seed=4), tmp_path_factory.mktemp("criteo") / "train.txt")


def in_memory(fmt: DelimitedFormat, path: Path, max_rows: int | None, features: dict) -> tuple[dict, dict]:
    table = fmt.read(str(path), max_rows)
    sizes = split_sizes(table.frame.height, SPLIT)
    encoder = TabularEncoder(**features)
    spec = encoder.fit(table, sizes[0])
    encoded = encoder.transform(table)
    bounds = np.cumsum((0, *sizes))
    return spec.to_dict(), {
        (split, part): getattr(encoded.slice(int(bounds[i]), int(bounds[i + 1])), part)
        for i, split in enumerate(SPLITS)
        for part in PARTS
    }


def chunked(
    fmt: DelimitedFormat, path: Path, max_rows: int | None, features: dict, chunk_rows: int, folder: Path
) -> tuple[dict, dict]:
    index = fmt.index(str(path), chunk_rows, max_rows)
    meta = encode_file(fmt, str(path), index, split_sizes(fmt.n_rows(index), SPLIT), TabularEncoder(**features), folder)
    return meta, {(split, part): np.load(folder / f"{split}_{part}.npy") for split in SPLITS for part in PARTS}


def assert_same(expected: dict, got: dict) -> None:
    for key, array in expected.items():
        assert got[key].dtype == array.dtype and got[key].shape == array.shape, key
        if key[1] == "numeric":
            np.testing.assert_allclose(got[key], array, rtol=1e-6, atol=1e-6, err_msg=str(key))
        else:
            assert np.array_equal(got[key], array), key


FEATURES = {
    "vocabulary": {"min_count": 1},
    "rare-ids-oov": {"min_count": 3, "missing_indicators": True},
    "hashing": {"hash_buckets": 64},
    "raw-numbers": {"numeric_transform": "none", "standardize": False},
}


@pytest.mark.parametrize("features", list(FEATURES))
@pytest.mark.parametrize(
    ("chunk_rows", "max_rows"),
    [(7, None), (40, None), (40, 250), (1000, None), (13, 101)],
    ids=["7-rows", "chunk-ends-at-train-end", "max-rows-chunk-ends-at-train-end", "one-chunk", "max-rows"],
)
def test_criteo_chunks_give_the_in_memory_arrays(
    criteo_file: Path, tmp_path: Path, features: str, chunk_rows: int, max_rows: int | None
) -> None:
    # 300 rows: 240 train rows, a multiple of 40 (as the 200 train rows of max_rows=250 are)
    spec, expected = in_memory(criteo.FORMAT, criteo_file, max_rows, FEATURES[features])
    meta, got = chunked(criteo.FORMAT, criteo_file, max_rows, FEATURES[features], chunk_rows, tmp_path)
    assert meta["spec"] == spec
    assert meta["rows"] == {s: len(expected[s, "label"]) for s in SPLITS}
    assert_same(expected, got)
    assert meta["ctr"]["test"] == pytest.approx(float(expected["test", "label"].mean()))


def test_avazu_chunks_give_the_in_memory_arrays(tmp_path: Path) -> None:
    """A header, CRLF line ends, derived time features and a file that ends without a newline."""
    rng = np.random.default_rng(0)
    rows = [
        ",".join(
            {"id": str(i), "click": str(int(rng.random() < 0.2)), "hour": f"141021{rng.integers(0, 24):02d}"}.get(
                c, f"v{rng.integers(0, 5)}" if rng.random() > 0.1 else ""
            )
            for c in avazu.COLUMNS
        )
        for i in range(97)
    ]
    path = tmp_path / "train.csv"
    path.write_bytes(("\r\n".join([",".join(avazu.COLUMNS), *rows])).encode())
    spec, expected = in_memory(avazu.FORMAT, path, None, {"min_count": 2})
    (tmp_path / "out").mkdir()
    meta, got = chunked(avazu.FORMAT, path, None, {"min_count": 2}, 9, tmp_path / "out")
    assert meta["spec"] == spec and spec["features"][-1]["name"] == "weekday"
    assert_same(expected, got)


def bad_copy(source: Path, target: Path, line: int, replace: str) -> Path:
    lines = source.read_text().split("\n")
    lines[line - 1] = replace
    target.write_text("\n".join(lines))
    return target


@pytest.mark.parametrize(
    ("line", "replace", "message"),
    [
        (45, "1\t2", r"line 45: expected 40 tab-separated fields, found 2"),  # a train chunk (pass 1)
        (240, "0\t" + "\t".join(["x"] * 39), r"line 240, column I1: expected an integer, found 'x'"),
        (290, "7" + "\t" * 39, r"line 290, column label: the label must be 0 or 1, found 7"),  # test rows (pass 2)
    ],
    ids=["short-line-in-train", "text-in-int-last-train-chunk", "bad-label-in-test"],
)
def test_a_malformed_line_in_a_later_chunk_names_its_line(
    criteo_file: Path, tmp_path: Path, line: int, replace: str, message: str
) -> None:
    path = bad_copy(criteo_file, tmp_path / "bad.txt", line, replace)
    with pytest.raises(DataError, match=message):
        chunked(criteo.FORMAT, path, None, {}, 7, tmp_path)


def test_avazu_errors_in_a_later_chunk_count_the_header_line(tmp_path: Path) -> None:
    row = ",".join({"click": "0", "hour": "14102100"}.get(c, "1") for c in avazu.COLUMNS)
    lines = [",".join(avazu.COLUMNS), *[row] * 30]
    lines[24] = row.replace("14102100", "14133100")  # line 25 of the file, data row 24
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 25, column hour: expected a YYMMDDHH time, found 14133100"):
        chunked(avazu.FORMAT, path, None, {}, 4, tmp_path)


def test_nan_checks_name_the_row_in_the_whole_file() -> None:
    frame = pl.DataFrame({"y": [0, 1], "n": [1.0, float("nan")], "c": ["a", "b"]})
    with pytest.raises(DataError, match="n is NaN or infinite in data row 102"):
        check_finite(RawTable(frame, "y", ["n"], ["c"], "test", row_offset=100))
