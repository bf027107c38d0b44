"""MovieLens 100K and 1M (GroupLens), read from the unpacked official archive folder.

100K (`ml-100k/`): `u.data` (user \\t item \\t rating \\t timestamp), `u.item` (24 `|`-separated fields:
id, title, release date, video release date, IMDb URL, 19 genre flags), `u.user` (id|age|gender|
occupation|zip). 1M (`ml-1m/`): `ratings.dat` (UserID::MovieID::Rating::Timestamp), `movies.dat`
(MovieID::Title::Genre|Genre...), `users.dat` (UserID::Gender::Age::Occupation::Zip-code).

The files are ISO-8859-1 (Latin-1): titles such as "Misérables, Les (1995)" are not valid UTF-8.
A malformed line stops the read with a DataError naming the file, the line and the column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from framework.data.interactions.table import InteractionTable
from framework.data.tabular.table import read_head, split_fields, to_int
from framework.errors import DataError

GENRES_100K = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
GENRES_1M = GENRES_100K[1:]  # the 1M genre list has no "unknown"
# ML-1M codes age in these buckets; ML-100K ages (exact years) are bucketed the same way.
AGE_BUCKETS = (1, 18, 25, 35, 45, 50, 56)
FILES_100K = ("u.data", "u.item", "u.user")
FILES_1M = ("ratings.dat", "movies.dat", "users.dat")


def _folder(path: str, files: tuple[str, ...], what: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        hint = (
            f" (it is a file: point dataset.path at the folder that holds {', '.join(files)})"
            if folder.exists()
            else ""
        )
        size = "1m" if what.endswith("1M") else "100k"
        raise DataError(
            f"{what} folder not found: {folder}{hint}. Set dataset.path to the unpacked archive folder; "
            f"`python scripts/download_movielens.py {size}` fetches, checks and unpacks it."
        )
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(
            f"{folder}: missing {', '.join(missing)} (a {what} folder holds {', '.join(files)}). "
            f"`python scripts/download_movielens.py` fetches and checks the official archive."
        )
    return folder


def read_fields(
    path: Path, separator: str, names: list[str], int_columns: list[str], max_rows: int | None = None
) -> pl.DataFrame:
    """A Latin-1 delimited file without header as string columns (empty = null), `int_columns` as Int64.
    Wrong field counts and non-integers raise a DataError with the line (and column)."""
    data = read_head(path, max_rows)
    if not data:
        raise DataError(f"{path}: the file is empty.")
    lines = pl.Series("line", data.decode("latin-1").split("\n")[:-1]).str.strip_suffix("\r")
    return to_int(split_fields(lines, separator, names, path, 1), int_columns, path, 1)


def _require(frame: pl.DataFrame, columns: list[str], path: Path) -> None:
    """Fields that may not be empty."""
    for c in columns:
        empty = frame.get_column(c).is_null().arg_true()
        if empty.len():
            raise DataError(f"{path}, line {int(empty[0]) + 1}, column {c}: empty value ({empty.len()} such line(s)).")


def _check_range(frame: pl.DataFrame, column: str, low: int, high: int | None, path: Path) -> None:
    values = frame.get_column(column)
    bad = ((values < low) | (values > high) if high is not None else values < low).fill_null(False).arg_true()
    if bad.len():
        allowed = f"{low}..{high}" if high is not None else f">= {low}"
        raise DataError(
            f"{path}, line {int(bad[0]) + 1}, column {column}: {values[int(bad[0])]} is outside {allowed} "
            f"({bad.len()} such value(s))."
        )


def _check_known(ratings: pl.DataFrame, column: str, known: pl.Series, path: Path, table: str) -> None:
    unknown = (~ratings.get_column(column).is_in(known.implode())).arg_true()
    if unknown.len():
        i = int(unknown[0])
        raise DataError(
            f"{path}, line {i + 1}, column {column}: {ratings.get_column(column)[i]} is not in {table} "
            f"({unknown.len()} rating(s) refer to unknown ids)."
        )


def _unique_ids(frame: pl.DataFrame, column: str, path: Path) -> None:
    dup = frame.get_column(column).is_duplicated().arg_true()
    if dup.len():
        i = int(dup[-1])
        raise DataError(f"{path}, line {i + 1}, column {column}: id {frame.get_column(column)[i]} appears twice.")


def _ratings(path: Path, separator: str, max_rows: int | None) -> pl.DataFrame:
    names = ["user", "item", "rating", "timestamp"]
    frame = read_fields(path, separator, names, names, max_rows)
    _require(frame, names, path)
    _check_range(frame, "user", 1, None, path)
    _check_range(frame, "item", 1, None, path)
    _check_range(frame, "rating", 1, 5, path)
    _check_range(frame, "timestamp", 0, None, path)
    return frame.with_columns(pl.col("rating").cast(pl.Float64).alias("strength"))


def _age_bucket(age: pl.Expr) -> pl.Expr:
    bucket = pl.lit(AGE_BUCKETS[0])
    for edge in AGE_BUCKETS[1:]:
        bucket = pl.when(age >= edge).then(pl.lit(edge)).otherwise(bucket)
    return bucket


def _zip_region(zip_code: pl.Expr) -> pl.Expr:
    """First digit of a US zip code (a coarse region); Canadian and other codes share 'other'."""
    first = zip_code.str.slice(0, 1)
    return pl.when(first.str.contains(r"^\d$")).then(first).otherwise(pl.lit("other"))


def _table(ratings: pl.DataFrame, users: pl.DataFrame, items: pl.DataFrame, genres: list[str], source: str):
    return InteractionTable(
        interactions=ratings.select("user", "item", "timestamp", "strength"),
        users=users.select("user", "age_bucket", "gender", "occupation", "zip_region"),
        items=items.select("item", "decade", "year", *genres),
        user_categorical=["age_bucket", "gender", "occupation", "zip_region"],
        user_numeric=[],
        item_categorical=["decade"],
        item_numeric=["year"],
        item_tags=genres,
        strength="rating",
        source=source,
    )


def read_movielens_100k(path: str, max_rows: int | None = None) -> InteractionTable:
    """The `ml-100k` folder; `max_rows` caps the ratings read (in file order)."""
    folder = _folder(path, FILES_100K, "MovieLens 100K")
    ratings = _ratings(folder / "u.data", "\t", max_rows)

    user_file = folder / "u.user"
    users = read_fields(user_file, "|", ["user", "age", "gender", "occupation", "zip"], ["user", "age"])
    _require(users, ["user", "age", "gender", "occupation"], user_file)
    _unique_ids(users, "user", user_file)
    users = users.with_columns(
        _age_bucket(pl.col("age")).cast(pl.String).alias("age_bucket"), _zip_region(pl.col("zip")).alias("zip_region")
    )

    item_file = folder / "u.item"
    names = ["item", "title", "release_date", "video_release_date", "url", *GENRES_100K]
    items = read_fields(item_file, "|", names, ["item", *GENRES_100K])
    _require(items, ["item", *GENRES_100K], item_file)
    _unique_ids(items, "item", item_file)
    for g in GENRES_100K:
        _check_range(items, g, 0, 1, item_file)
    year = pl.col("release_date").str.slice(-4).cast(pl.Int64, strict=False)  # "01-Jan-1995"; empty for item 267
    items = items.with_columns(year.alias("year"), (year // 10 * 10).cast(pl.String).alias("decade"))

    _check_known(ratings, "user", users.get_column("user"), folder / "u.data", "u.user")
    _check_known(ratings, "item", items.get_column("item"), folder / "u.data", "u.item")
    return _table(ratings, users, items, GENRES_100K, str(folder))


def read_movielens_1m(path: str, max_rows: int | None = None) -> InteractionTable:
    """The `ml-1m` folder (`::`-separated .dat files); `max_rows` caps the ratings read (in file order)."""
    folder = _folder(path, FILES_1M, "MovieLens 1M")
    ratings = _ratings(folder / "ratings.dat", "::", max_rows)

    user_file = folder / "users.dat"
    users = read_fields(user_file, "::", ["user", "gender", "age", "occupation", "zip"], ["user", "age", "occupation"])
    _require(users, ["user", "gender", "age", "occupation"], user_file)
    _unique_ids(users, "user", user_file)
    users = users.with_columns(
        pl.col("age").cast(pl.String).alias("age_bucket"),
        pl.col("occupation").cast(pl.String),
        _zip_region(pl.col("zip").fill_null("")).alias("zip_region"),
    )

    item_file = folder / "movies.dat"
    items = read_fields(item_file, "::", ["item", "title", "genres"], ["item"])
    _require(items, ["item", "title"], item_file)
    _unique_ids(items, "item", item_file)
    genre_lists = pl.col("genres").fill_null("").str.split("|")
    unknown = items.select(genre_lists.list.set_difference(pl.lit(GENRES_1M)).alias("x")).get_column("x")
    bad = (unknown.list.len() > 0).arg_true()
    if bad.len():
        i = int(bad[0])
        raise DataError(
            f"{item_file}, line {i + 1}, column genres: unknown genre {unknown[i][0]!r} "
            f"(known: {', '.join(GENRES_1M)})."
        )
    year = pl.col("title").str.extract(r"\((\d{4})\)\s*$").cast(pl.Int64)  # "Toy Story (1995)"
    items = items.with_columns(
        year.alias("year"),
        (year // 10 * 10).cast(pl.String).alias("decade"),
        *[genre_lists.list.contains(g).cast(pl.Int64).alias(g) for g in GENRES_1M],
    )

    _check_known(ratings, "user", users.get_column("user"), folder / "ratings.dat", "users.dat")
    _check_known(ratings, "item", items.get_column("item"), folder / "ratings.dat", "movies.dat")
    return _table(ratings, users, items, GENRES_1M, str(folder))
