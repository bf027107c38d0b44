"""MovieLens 100K / 1M readers: the real files in, typed tables out; malformed files name file, line, column."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.data.formats.movielens import GENRES_1M, GENRES_100K, read_movielens_1m, read_movielens_100k
from framework.data.interactions.table import encode_interactions
from framework.errors import DataError
from tests.conftest import shared_file

GENRE_FLAGS = "|".join(["0"] * 8 + ["1"] + ["0"] * 10)  # Drama


def ml100k(
    folder: Path, ratings: list[str] | None = None, items: list[str] | None = None, users: list[str] | None = None
):
    """A tiny ml-100k folder in the original formats (u.item in Latin-1)."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings = ratings or ["1\t1\t5\t881250949", "1\t2\t3\t881250950", "2\t1\t4\t891717742", "2\t3\t1\t878887116"]
    items = items or [
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy|{GENRE_FLAGS}",
        f"2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Mis%E9rables|{GENRE_FLAGS}",
        f"3|unknown||||1|{'|'.join(['0'] * 18)}",
    ]
    users = users or ["1|24|M|technician|85711", "2|53|F|other|T8H1N"]
    (folder / "u.data").write_text("\n".join(ratings) + "\n")
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (folder / "u.user").write_text("\n".join(users) + "\n")
    return folder


def ml1m(folder: Path, ratings: list[str] | None = None, movies: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ratings = ratings or ["1::1193::5::978300760", "1::661::3::978302109", "2::1193::4::978298413"]
    movies = movies or [
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama",
        "661::Misérables, Les (1995)::Drama|Musical",
    ]
    (folder / "ratings.dat").write_text("\n".join(ratings) + "\n")
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode("latin-1"))
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    return folder


def test_real_100k_files() -> None:
    folder = shared_file("movielens-100k/u.data").parent
    t = read_movielens_100k(str(folder))
    assert t.interactions.height == 100_000 and t.users.height == 943 and t.items.height == 1682
    assert t.interactions["strength"].min() == 1 and t.interactions["strength"].max() == 5
    assert t.item_tags == GENRES_100K and t.strength == "rating"
    unknown = t.items.filter(t.items["item"] == 267)  # the one item without a release date
    assert unknown["year"][0] is None and unknown["unknown"][0] == 1
    assert t.users.filter(t.users["user"] == 1)["age_bucket"][0] == "18"  # 24 years -> the 18-24 bucket
    encoded = encode_interactions(t, None)
    assert encoded.spec.n_users == 943 and encoded.spec.n_items == 1682 and len(encoded.user) == 100_000
    assert encoded.spec.item.n_numeric == 1 + len(GENRES_100K)  # year + genre flags
    assert len(encode_interactions(t, 4).user) == 55_375  # ratings >= 4


def test_100k_reads_latin1_titles_and_missing_dates(tmp_path: Path) -> None:
    t = read_movielens_100k(str(ml100k(tmp_path / "ml-100k")))
    assert t.interactions.height == 4
    assert t.items["year"].to_list() == [1995, 1995, None] and t.items["decade"].to_list() == ["1990", "1990", None]
    assert t.items["Drama"].to_list() == [1, 1, 0]
    assert t.users["zip_region"].to_list() == ["8", "other"]  # a Canadian code has no US region
    assert read_movielens_100k(str(tmp_path / "ml-100k"), max_rows=2).interactions.height == 2


def test_1m_format(tmp_path: Path) -> None:
    t = read_movielens_1m(str(ml1m(tmp_path / "ml-1m")))
    assert t.interactions.height == 3 and t.item_tags == GENRES_1M
    row = t.items.filter(t.items["item"] == 661)
    assert row["year"][0] == 1995 and row["Drama"][0] == 1 and row["Musical"][0] == 1 and row["Comedy"][0] == 0
    assert t.users.sort("user")["age_bucket"].to_list() == ["1", "56"]
    spec = encode_interactions(t, 4).spec
    assert spec.n_users == 2 and spec.n_items == 2


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (
            "100k",
            {"ratings": ["1\t1\t5\t881250949", "1\t2\t3"]},
            "u.data, line 2: expected 4 tab-separated fields, found 3",
        ),
        (
            "100k",
            {"ratings": ["1\t1\tfive\t881250949"]},
            "u.data, line 1, column rating: expected an integer, found 'five'",
        ),
        ("100k", {"ratings": ["1\t1\t5\t1", "1\t2\t6\t1"]}, "u.data, line 2, column rating: 6 is outside 1..5"),
        ("100k", {"ratings": ["1\t1\t5\t1", "1\t9\t4\t1"]}, "u.data, line 2, column item: 9 is not in u.item"),
        ("100k", {"ratings": ["7\t1\t5\t1"]}, "u.data, line 1, column user: 7 is not in u.user"),
        (
            "100k",
            {"users": ["1|24|M|technician|85711", "1|25|F|other|1"]},
            "u.user, line 2, column user: id 1 appears twice",
        ),
        (
            "100k",
            {"items": [f"1|Toy Story (1995)|01-Jan-1995||url|{GENRE_FLAGS}|0"]},
            "u.item, line 1: expected 24 '|'-separated fields, found 25",
        ),
        (
            "1m",
            {"ratings": ["1::1193::5::978300760", "1::661:3::978302109"]},
            "ratings.dat, line 2: expected 4 '::'-separated fields, found 3",
        ),
        (
            "1m",
            {"movies": ["1193::Nest (1975)::Drama", "661::Les (1995)::Drama|Westrn"]},
            "movies.dat, line 2, column genres: unknown genre 'Westrn'",
        ),
    ],
)
def test_malformed_lines_name_file_line_and_column(tmp_path: Path, kind: str, change: dict, message: str) -> None:
    if kind == "100k":
        folder, read = ml100k(tmp_path / "ml-100k", **change), read_movielens_100k
    else:
        folder, read = ml1m(tmp_path / "ml-1m", **change), read_movielens_1m
    with pytest.raises(DataError) as info:
        read(str(folder))
    assert message in str(info.value) and str(folder) in str(info.value)


def test_missing_folder_or_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"MovieLens 100K folder not found.*scripts/download_movielens.py 100k"):
        read_movielens_100k(str(tmp_path / "nowhere"))
    folder = ml100k(tmp_path / "ml-100k")
    (folder / "u.user").unlink()
    with pytest.raises(DataError, match=r"missing u.user .*download_movielens.py"):
        read_movielens_100k(str(folder))
    with pytest.raises(DataError, match="it is a file"):
        read_movielens_100k(str(folder / "u.data"))
