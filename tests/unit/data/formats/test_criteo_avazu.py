"""Criteo and Avazu readers: real formats in, typed frames out; malformed files name file, line, column."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from framework.data.formats.avazu import COLUMNS as AVAZU_COLUMNS
from framework.data.formats.avazu import read_avazu
from framework.data.formats.criteo import read_criteo, write_criteo
from framework.data.synthetic.click_log import generate
from framework.errors import DataError
from tests.conftest import shared_file


def criteo_line(label: str = "1", ints: list[str] | None = None, cats: list[str] | None = None) -> str:
    ints = ints if ints is not None else [str(i) for i in range(13)]
    cats = cats if cats is not None else [f"{i:08x}" for i in range(26)]
    return "\t".join([label, *ints, *cats])


def write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text(end.join(lines) + end)
    return path


def test_criteo_reads_missing_values_and_trailing_tabs(tmp_path: Path) -> None:
    ints = ["", "-1", *[str(i) for i in range(11)]]
    cats = [f"{i:08x}" for i in range(24)] + ["", ""]  # the line ends in tabs
    t = read_criteo(str(write(tmp_path / "t.txt", [criteo_line("0", ints, cats), criteo_line()])))
    assert t.frame.shape == (2, 40)
    assert t.frame["I1"].to_list() == [None, 0] and t.frame["I2"].to_list() == [-1, 1]
    assert t.frame["C26"].to_list() == [None, f"{25:08x}"]
    assert t.frame["label"].to_list() == [0, 1]


def test_criteo_gzip_and_max_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(criteo_line(str(i % 2)) for i in range(50)) + "\n")
    assert read_criteo(str(path)).frame.height == 50
    assert read_criteo(str(path), max_rows=7).frame.height == 7


def test_write_criteo_round_trips_the_synthetic_log(tmp_path: Path) -> None:
    table = generate(n_rows=300, seed=3)
    back = read_criteo(str(write_criteo(table, tmp_path / "s.txt")))
    numeric = ["label", *table.numeric]
    assert back.frame.select(numeric).equals(table.frame.select(numeric))
    assert back.frame["C3"].null_count() == table.frame["C3"].null_count()
    assert back.frame["C1"][0] == f"{table.frame['C1'][0]:08x}"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([criteo_line(), criteo_line(cats=["ab"] * 25)], r"line 2: expected 40 tab-separated fields, found 39"),
        ([criteo_line(), criteo_line(cats=["ab"] * 27)], r"line 2: expected 40 tab-separated fields, found 41"),
        (
            [criteo_line(), criteo_line(ints=["7", "x", *["1"] * 11])],
            r"line 2, column I2: expected an integer, found 'x'",
        ),
        ([criteo_line(ints=["nan", *["1"] * 12])], r"line 1, column I1: expected an integer, found 'nan'"),
        ([criteo_line(ints=["1.5", *["1"] * 12])], r"line 1, column I1: expected an integer, found '1.5'"),
        ([criteo_line(), criteo_line("2")], r"line 2, column label: the label must be 0 or 1, found 2"),
        ([criteo_line(), "", criteo_line()], r"line 2: expected 40 tab-separated fields, found 0"),
    ],
    ids=["short-line", "long-line", "text-in-int", "nan-in-int", "float-in-int", "bad-label", "blank-line"],
)
def test_criteo_malformed_lines(tmp_path: Path, lines: list[str], message: str) -> None:
    path = write(tmp_path / "bad.txt", lines)
    with pytest.raises(DataError, match=message) as err:
        read_criteo(str(path))
    assert str(path) in str(err.value)


def test_missing_empty_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Criteo file not found"):
        read_criteo(str(tmp_path / "nope.txt"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="file is empty"):
        read_criteo(str(tmp_path / "empty.txt"))
    (tmp_path / "blank.txt").write_text("\n\n")
    with pytest.raises(DataError, match="no data rows"):
        read_criteo(str(tmp_path / "blank.txt"))
    with pytest.raises(DataError, match="is a directory"):
        read_criteo(str(tmp_path))


def avazu_row(click: str = "0", hour: str = "14102100") -> str:
    values = {"id": "1000009418151094273", "click": click, "hour": hour}
    return ",".join(values.get(c, "1005" if c.startswith("C") else "abc") for c in AVAZU_COLUMNS)


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_avazu_line_ends_and_time_features(tmp_path: Path, end: str) -> None:
    path = write(tmp_path / "train.csv", [",".join(AVAZU_COLUMNS), avazu_row("1", "14102923"), avazu_row()], end)
    t = read_avazu(str(path))
    assert t.frame.height == 2 and t.label == "click"
    assert t.frame["hour_of_day"].to_list() == ["23", "0"]
    assert t.frame["weekday"].to_list() == ["3", "2"]  # 2014-10-29 is a Wednesday, 2014-10-21 a Tuesday
    assert t.frame["C21"].to_list() == ["1005", "1005"]
    assert "id" not in t.frame.columns and "hour" not in t.frame.columns


def test_avazu_errors(tmp_path: Path) -> None:
    header = ",".join(c for c in AVAZU_COLUMNS if c != "site_id")
    with pytest.raises(DataError, match=r"line 1 \(header\): missing column\(s\) site_id"):
        read_avazu(str(write(tmp_path / "a.csv", [header, ",".join(["1"] * 23)])))
    with pytest.raises(DataError, match=r"line 3, column hour: expected a YYMMDDHH time, found 14133100"):
        read_avazu(str(write(tmp_path / "b.csv", [",".join(AVAZU_COLUMNS), avazu_row(), avazu_row(hour="14133100")])))
    with pytest.raises(DataError, match=r"line 2: expected 24 comma-separated fields, found 25"):
        read_avazu(str(write(tmp_path / "c.csv", [",".join(AVAZU_COLUMNS), avazu_row() + ",x"])))
    with pytest.raises(DataError, match="header but no data rows"):
        read_avazu(str(write(tmp_path / "d.csv", [",".join(AVAZU_COLUMNS)])))


def test_real_criteo_dac_sample() -> None:
    path = shared_file("criteo-display-advertising-challenge/dac_train_first1999.txt")
    t = read_criteo(str(path))
    assert t.frame.height == 1999
    assert t.frame["label"].sum() == 418  # the data README: 1,581 x 0, 418 x 1
    assert t.frame["I1"].null_count() > 0 and t.frame["C26"].null_count() > 0


@pytest.mark.parametrize(("name", "rows", "clicks"), [("train_first499.csv", 499, 87), ("avazu_sample.txt", 100, 20)])
def test_real_avazu_samples(name: str, rows: int, clicks: int) -> None:
    t = read_avazu(str(shared_file(f"avazu-ctr/{name}")))  # CRLF and LF line ends respectively
    assert t.frame.height == rows and t.frame["click"].sum() == clicks


def test_invalid_utf8_bytes_are_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    bad = criteo_line(cats=["\udcff"] * 26).encode("utf-8", "surrogateescape")  # a lone 0xff byte per field
    path.write_bytes((criteo_line() + "\n").encode() + bad)
    t = read_criteo(str(path))
    assert t.frame.height == 2 and t.frame["C1"][1] == "\ufffd"
