"""The MIND reader: rows, labels and features of a small example, what it tolerates and counts, malformed
files named by line, and the shared MINDsmall sample."""

from __future__ import annotations

import math
import time
import zlib
from pathlib import Path

import pytest

from framework.data.formats.mind import CATEGORICAL, NUMERIC, read_mind
from framework.errors import DataError
from tests.conftest import shared_file

NEWS = [
    ("N1", "sports", "football", 'He said "go"', "An abstract", "https://x/1", "[]", "[]"),
    ("N2", "news", "politics", "Title", "", "https://x/2", "[]", "[]"),
    ("N3", "sports", "tennis", "Title", "", "https://x/3", "[]", "[]"),
]
BEHAVIORS = [
    ("1", "U10", "11/12/2019 2:14:46 PM", "N1 N2", "N3-1 N4-0 N2-0"),
    ("2", "U20", "11/13/2019 12:05:00 AM", "", "N1-0 N3-0"),
    ("3", "U10", "11/13/2019 9:00:00 AM", "N1 N2 N5", "N1-1"),
]
GOOD = "1\tU1\t11/12/2019 2:14:46 PM\tN1\tN2-1 N3-0\n"


def tsv(rows: list[tuple[str, ...]]) -> str:
    return "".join("\t".join(r) + "\n" for r in rows)


def write(tmp_path: Path, behaviors: str, news: str | None = None) -> tuple[str, str | None]:
    path = tmp_path / "behaviors.tsv"
    path.write_text(behaviors, encoding="utf-8")
    if news is None:
        return str(path), None
    news_path = tmp_path / "news.tsv"
    news_path.write_text(news, encoding="utf-8")
    return str(path), str(news_path)


def test_rows_labels_and_features_of_three_impressions(tmp_path: Path) -> None:
    table = read_mind(*write(tmp_path, tsv(BEHAVIORS), tsv(NEWS)))
    f = table.frame
    assert table.tasks == {"click": "binary"}
    assert table.numeric == NUMERIC and table.categorical == CATEGORICAL
    assert f.columns == ["query", "user", "item", "time", "click", *NUMERIC, "news", "category", "subcategory"]
    assert f["query"].to_list() == [1, 1, 1, 2, 2, 3]
    assert f["user"].to_list() == [10, 10, 10, 20, 20, 10]
    assert f["item"].to_list() == [3, 4, 2, 1, 3, 1] == f["news"].to_list()
    assert f["click"].to_list() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    day = 18212.0  # 2019-11-12 in days since 1970
    assert f["time"][0] == pytest.approx(day + (14 * 3600 + 14 * 60 + 46) / 86400)
    assert f["time"][3] == pytest.approx(day + 1 + 5 * 60 / 86400)  # 12:05 AM is just after midnight
    assert f["impression_hour"].to_list() == [14.0, 14.0, 14.0, 0.0, 0.0, 9.0]
    assert f["history_length"].to_list() == [2.0, 2.0, 2.0, 0.0, 0.0, 3.0]
    assert f["impression_size"].to_list() == [3.0, 3.0, 3.0, 2.0, 2.0, 1.0]
    assert f["in_history"].to_list() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    two, one = math.log1p(2), math.log1p(1)
    # exposure so far, in time order: N3 shown in impressions 1 and 2, N1 in 2 and 3
    assert f["news_impressions"].to_list() == pytest.approx([one, one, one, one, two, two])
    sports, news = zlib.crc32(b"sports"), zlib.crc32(b"news")
    assert f["category"].to_list() == [sports, None, news, sports, sports, sports]
    assert f["subcategory"].to_list() == [
        zlib.crc32(b"tennis"),
        None,
        zlib.crc32(b"politics"),
        zlib.crc32(b"football"),
        zlib.crc32(b"tennis"),
        zlib.crc32(b"football"),
    ]
    # history of impressions 1 and 3: N1 (sports/football), N2 (news/politics); N5 has no news.tsv row
    assert f["category_affinity"].to_list() == [0.5, None, 0.5, None, None, 0.5]
    assert f["subcategory_affinity"].to_list() == [0.0, None, 0.5, None, None, 0.5]
    info = table.info
    assert info["impressions"] == 3 and info["rows"] == 6 and info["users"] == 2 and info["clicks"] == 2
    assert info["empty_history"] == 1
    assert info["impressions_without_click"] == 1 and info["impressions_without_nonclick"] == 1
    assert info["news_ids_referenced"] == 5 and info["news_ids_with_news_row"] == 3
    assert info["candidates_without_news_row"] == 1 and info["candidate_rows_without_news_row"] == 1
    assert info["history_without_news_row"] == 1
    assert info["missing_features"] == {}


def test_without_news_tsv_the_news_features_are_null(tmp_path: Path) -> None:
    table = read_mind(*write(tmp_path, tsv(BEHAVIORS)))
    f = table.frame
    for column in ("category", "subcategory", "category_affinity", "subcategory_affinity"):
        assert f[column].null_count() == f.height
        assert "news.tsv" in table.info["missing_features"][column]
    assert f["in_history"].to_list() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert "news_ids_referenced" not in table.info


def test_max_rows_counts_impressions(tmp_path: Path) -> None:
    table = read_mind(*write(tmp_path, tsv(BEHAVIORS), tsv(NEWS)), max_rows=2)
    assert table.frame["query"].unique().sort().to_list() == [1, 2] and table.info["impressions"] == 2
    two, one = math.log1p(2), math.log1p(1)  # impression 3 is not read: nothing changes for the first two
    assert table.frame["news_impressions"].to_list() == pytest.approx([one, one, one, one, two])


def test_crlf_blank_lines_and_repeated_news_rows_are_tolerated(tmp_path: Path) -> None:
    behaviors = tsv(BEHAVIORS).replace("\n", "\r\n").replace("\r\n2\t", "\r\n\r\n2\t")
    news = tsv([*NEWS, ("N1", "other", "other", "", "", "", "", "")])
    table = read_mind(*write(tmp_path, behaviors, news))
    assert table.frame.height == 6 and table.info["blank_lines"] == 1
    assert table.info["news_duplicates_dropped"] == 1
    assert table.frame["category"][3] == zlib.crc32(b"sports")  # the first row of N1 kept


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ("2\tU1\t11/12/2019 2:14:46 PM\tN2-1", "expected 5 tab-separated fields .*got 4"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\tN2-1\textra", "expected 5 tab-separated fields .*got 6"),
        ("2\tU1\t13/45/2019 2:14:46 PM\t\tN2-1", "time must be like 11/12/2019 2:14:46 PM, got '13/45/2019"),
        ("2\tU1\t2019-11-12 14:14:46\t\tN2-1", "time must be like"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\tN2-1 N12-2", "impression token must be .*got 'N12-2'"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\tN2-1 N12-", "impression token must be .*got 'N12-'"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\tN2-1  N3-0", "impression token must be .*got ''"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\t", "impression token must be .*got ''"),
        ("2\tU1\t11/12/2019 2:14:46 PM\t\tN2-1 N3", "impression token 'N3' has no click label"),
        ("1\tU1\t11/12/2019 2:14:46 PM\t\tN2-1", "impression_id 1 was already given on line 1"),
        ("x\tU1\t11/12/2019 2:14:46 PM\t\tN2-1", "impression_id must be an integer, got 'x'"),
        ("2\tX1\t11/12/2019 2:14:46 PM\t\tN2-1", "user_id must be like U123, got 'X1'"),
        ("2\tU1\t11/12/2019 2:14:46 PM\tN1 Q2\tN2-1", "history id must be like N123, got 'Q2'"),
    ],
)
def test_malformed_behaviors_name_file_and_line(tmp_path: Path, line2: str, message: str) -> None:
    path, _ = write(tmp_path, GOOD + line2 + "\n" + GOOD.replace("1\t", "3\t", 1))
    with pytest.raises(DataError, match=rf"behaviors\.tsv, line 2: {message}"):
        read_mind(path)


def test_unlabelled_test_split_is_refused(tmp_path: Path) -> None:
    path, _ = write(tmp_path, "1\tU1\t11/12/2019 2:14:46 PM\tN1\tN2 N3\n2\tU1\t11/12/2019 2:15:00 PM\t\tN4\n")
    with pytest.raises(DataError, match=r"behaviors.tsv: no impression has a click label.*Training needs"):
        read_mind(path)


def test_malformed_news_and_encoding_name_file_and_line(tmp_path: Path) -> None:
    path, news = write(tmp_path, GOOD, tsv(NEWS[:1]) + "N2\tnews\tpolitics\tA title\twith a tab\n")
    with pytest.raises(DataError, match=r"news.tsv, line 2: expected 8 tab-separated fields.*got 5"):
        read_mind(path, news)
    path, news = write(tmp_path, GOOD, tsv([NEWS[0], ("2", *NEWS[1][1:])]))
    with pytest.raises(DataError, match=r"news.tsv, line 2: news_id must be like N123, got '2'"):
        read_mind(path, news)
    (tmp_path / "behaviors.tsv").write_bytes(GOOD.encode() + b"2\tU\xff\t11/12/2019 2:14:46 PM\t\tN1-0\n")
    with pytest.raises(DataError, match=r"behaviors.tsv, line 2: not valid UTF-8"):
        read_mind(path)
    with pytest.raises(DataError, match="file not found"):
        read_mind(str(tmp_path / "absent.tsv"))


def test_the_shared_mind_small_sample() -> None:
    behaviors = shared_file("mind-small-sample/MINDsmall_train/behaviors.tsv")
    news = shared_file("mind-small-sample/MINDsmall_train/news.tsv")
    start = time.perf_counter()
    table = read_mind(str(behaviors), str(news))
    seconds = time.perf_counter() - start
    info = table.info
    assert info["impressions"] == 5000 and table.frame["query"].n_unique() == 5000
    assert info["users"] == 4637 and table.frame["user"].n_unique() == 4637
    assert info["rows"] == table.frame.height == 189_359
    assert info["clicks"] == 7542 == int(table.frame["click"].sum())
    assert info["empty_history"] == 107
    assert info["news_ids_referenced"] == 22_592 and info["news_ids_with_news_row"] == 838
    assert info["impressions_without_click"] == 0 and info["impressions_without_nonclick"] == 0
    assert table.frame["category"].null_count() == info["candidate_rows_without_news_row"]
    assert table.frame.select(table.numeric[:5]).null_count().sum_horizontal().item() == 0
    assert seconds < 5.0, f"reading the sample took {seconds:.2f} s"
    print(f"read {table.frame.height} rows in {seconds:.2f} s")
