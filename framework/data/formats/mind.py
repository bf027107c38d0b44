"""Microsoft News (MIND, https://msnews.github.io): `behaviors.tsv` and, optionally, `news.tsv`, as a
`FeedTable` with one row per (impression, candidate news) and the task `click` (binary).

Both files are tab-separated, without header, UTF-8 (CRLF line endings accepted), with no quoting:

    behaviors.tsv  impression_id \t user_id (U123) \t time (11/12/2019 2:14:46 PM) \t history \t impressions
                   history: space-separated news ids the user clicked before (may be empty);
                   impressions: space-separated candidates with their click label, N1234-1 / N1234-0
    news.tsv       news_id \t category \t subcategory \t title \t abstract \t url \t title_entities \t
                   abstract_entities

`query` is the impression id, `user` the number after U, `item` the number after N (stable across files),
`time` the impression's time as written, in days since 1970. MIND's test split has no labels (N1234): such
a file is refused (training needs clicks), and so is a file mixing labelled and unlabelled candidates.

Features (none uses a click label):
- categorical: `user`, `news` (the candidate's id), `category`, `subcategory` (the crc32 of the name, so
  ids agree between the train and dev files; null when the news id has no news.tsv row or no news.tsv is
  given).
- numeric: `history_length` (ids in the history, as written), `impression_size` (candidates in the
  impression), `impression_hour` (hour of day of the time as written), `news_impressions` (log1p of the
  impressions that showed the news up to this one, in time order: exposure so far, not clicks),
  `in_history` (1 if the candidate is in the impression's history), `category_affinity` /
  `subcategory_affinity` (share of the history ids with a news.tsv row whose category / subcategory is
  the candidate's; null when the candidate's is unknown or no history id has a news.tsv row).

Counted in `info`, and kept: empty histories, impressions without a click or without a non-click (the
ranking metrics skip them), a news id repeated within an impression, blank lines, news ids without a
news.tsv row (distinct ids, candidates and history apart), news.tsv ids given twice (the first row kept).
A wrong field count, an id not like U123 / N123, a time that does not parse, a malformed candidate
(N12-2, N12-, an empty token), a repeated impression id or invalid UTF-8 is a DataError naming the file and
the line (1-based).
"""

from __future__ import annotations

import zlib
from typing import Any

import polars as pl

from framework.data.feed.table import FeedTable
from framework.data.tabular.table import check_file, read_head
from framework.errors import DataError

BEHAVIORS_FIELDS = ["impression_id", "user_id", "time", "history", "impressions"]
NEWS_FIELDS = [
    "news_id",
    "category",
    "subcategory",
    "title",
    "abstract",
    "url",
    "title_entities",
    "abstract_entities",
]
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
NUMERIC = [
    "history_length",
    "impression_size",
    "impression_hour",
    "news_impressions",
    "in_history",
    "category_affinity",
    "subcategory_affinity",
]
CATEGORICAL = ["user", "news", "category", "subcategory"]
NEEDS_NEWS = "needs news.tsv (news_path)"


def _fail(file: str, line: int, message: str, count: int | None = None) -> DataError:
    more = f" ({count} such line(s))" if count and count > 1 else ""
    return DataError(f"{file}, line {line}: {message}{more}.")


def _lines(path: str, what: str, max_rows: int | None) -> tuple[pl.DataFrame, str, int]:
    """The file's non-blank lines as `line` (1-based) and `text`, its name, and the count of blank lines."""
    file_path = check_file(path, what)
    file = str(file_path)
    data = read_head(file_path, max_rows)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(file, line, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    frame = pl.DataFrame({"text": pl.Series(lines, dtype=pl.String)}).with_row_index("line", offset=1)
    frame = frame.with_columns(pl.col("line").cast(pl.Int64), pl.col("text").str.strip_suffix("\r"))
    blank = frame["text"].str.strip_chars() == ""
    frame = frame.filter(~blank)
    if frame.height == 0:
        raise DataError(f"{file}: no data rows.")
    return frame, file, int(blank.sum())


def _fields(frame: pl.DataFrame, names: list[str], file: str, layout: str) -> pl.DataFrame:
    """`line` and one string column per field; a line with another field count is a DataError."""
    parts = frame["text"].str.split("\t")
    counts = parts.list.len()
    bad = counts != len(names)
    if bad.any():
        at = int(bad.arg_true()[0])
        raise _fail(
            file,
            int(frame["line"][at]),
            f"expected {len(names)} tab-separated fields ({layout}), got {counts[at]}",
            int(bad.sum()),
        )
    return pl.DataFrame({"line": frame["line"], **{n: parts.list.get(i) for i, n in enumerate(names)}})


def _check(frame: pl.DataFrame, bad: pl.Series, file: str, message: str, column: str) -> None:
    """A DataError naming the first line where `bad` holds; `message` gets the value as {value}."""
    if bad.any():
        at = int(bad.arg_true()[0])
        raise _fail(file, int(frame["line"][at]), message.format(value=repr(frame[column][at])), int(bad.sum()))


def _ids(frame: pl.DataFrame, column: str, prefix: str, file: str, what: str) -> pl.Series:
    """The number after `prefix` (U123 -> 123); anything else is a DataError naming the line."""
    ids = frame[column].str.extract(rf"^{prefix}(\d+)$").cast(pl.Int64, strict=False)
    _check(frame, ids.is_null(), file, f"{what} must be like {prefix}123, got {{value}}", column)
    return ids


def _stable_ids(names: pl.Series) -> pl.Series:
    """An int64 id per name that depends on the name only (crc32 of its UTF-8), null for null or empty."""
    unique = [n for n in names.unique().to_list() if n]
    codes = [zlib.crc32(n.encode("utf-8")) for n in unique]
    return names.replace_strict(unique, codes, default=None, return_dtype=pl.Int64)


def _behaviors(path: str, max_rows: int | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, str, int]:
    """(impressions: line, query, user, time), (candidates: line, pos, item, click), (history: line, item)."""
    frame, file, blank = _lines(path, "MIND behaviors.tsv", max_rows)
    raw = _fields(frame, BEHAVIORS_FIELDS, file, "impression_id, user_id, time, history, impressions")
    query = raw["impression_id"].str.strip_chars().cast(pl.Int64, strict=False)
    _check(raw, query.is_null(), file, "impression_id must be an integer, got {value}", "impression_id")
    repeated = query.is_duplicated() & ~query.is_first_distinct()
    if repeated.any():
        at = int(repeated.arg_true()[0])
        first = int(raw["line"][int((query == query[at]).arg_true()[0])])
        raise _fail(
            file,
            int(raw["line"][at]),
            f"impression_id {query[at]} was already given on line {first}; impression ids must be unique",
            int(repeated.sum()),
        )
    stamp = raw["time"].str.strip_chars().str.to_datetime(TIME_FORMAT, strict=False, time_unit="us")
    _check(raw, stamp.is_null(), file, "time must be like 11/12/2019 2:14:46 PM, got {value}", "time")
    impressions = pl.DataFrame(
        {
            "line": raw["line"],
            "query": query,
            "user": _ids(raw, "user_id", "U", file, "user_id"),
            "time": stamp.dt.epoch("us").cast(pl.Float64) / 86_400e6,
            "hour": stamp.dt.hour().cast(pl.Float64),
        }
    )

    history = (
        raw.select("line", pl.col("history").str.split(" ").alias("token"))
        .filter(pl.col("token").list.first() != "")  # an empty history
        .explode("token")
    )
    history_item = history["token"].str.extract(r"^N(\d+)$").cast(pl.Int64, strict=False)
    _check(history, history_item.is_null(), file, "history id must be like N123, got {value}", "token")
    history = pl.DataFrame({"line": history["line"], "item": history_item})

    tokens = raw.select("line", pl.col("impressions").str.split(" ").alias("token")).explode("token")
    tokens = tokens.with_columns(pl.int_range(pl.len()).over("line").alias("pos"))
    parts = tokens["token"].str.extract_groups(r"^N(\d+)(?:-([01]))?$").struct.unnest()
    item = parts[parts.columns[0]].cast(pl.Int64, strict=False)
    label = parts[parts.columns[1]]
    _check(
        tokens,
        item.is_null(),
        file,
        "impression token must be a news id and its click label like N1234-1 or N1234-0, got {value}",
        "token",
    )
    unlabelled = label.is_null()
    if unlabelled.all():
        raise DataError(
            f"{file}: no impression has a click label (tokens like {tokens['token'][0]!r}, not N1234-1 / "
            f"N1234-0): this looks like MIND's test split. Training needs the labelled behaviors.tsv of the "
            f"train or dev split."
        )
    _check(
        tokens,
        unlabelled,
        file,
        "impression token {value} has no click label (-1 or -0) while other tokens have one",
        "token",
    )
    candidates = pl.DataFrame(
        {"line": tokens["line"], "pos": tokens["pos"], "item": item, "click": label.cast(pl.Float32)}
    )
    return impressions, candidates, history, file, blank


def _news(path: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """(news: item, category, subcategory as ids), info counts."""
    frame, file, _ = _lines(path, "MIND news.tsv", None)
    raw = _fields(frame, NEWS_FIELDS, file, ", ".join(NEWS_FIELDS))
    item = _ids(raw, "news_id", "N", file, "news_id")
    news = pl.DataFrame(
        {
            "item": item,
            "category": _stable_ids(raw["category"].str.strip_chars()),
            "subcategory": _stable_ids(raw["subcategory"].str.strip_chars()),
        }
    )
    unique = news.unique("item", keep="first", maintain_order=True)
    return unique, {"news_rows": news.height, "news_duplicates_dropped": news.height - unique.height}


def _affinity(rows: pl.DataFrame, history: pl.DataFrame, column: str) -> pl.Series:
    """Per row: the share of its impression's history ids (with a known `column`) whose `column` is the
    row's; null when the row's is unknown or no history id has one."""
    known = history.filter(pl.col(column).is_not_null())
    size = known.group_by("line").agg(pl.len().alias("size"))
    shares = known.group_by("line", column).agg(pl.len().alias("k"))
    joined = rows.select("line", column).join(size, on="line", how="left", maintain_order="left")
    joined = joined.join(shares, on=["line", column], how="left", maintain_order="left")
    share = pl.when(pl.col(column).is_not_null() & pl.col("size").is_not_null())
    return joined.select(share.then(pl.col("k").fill_null(0) / pl.col("size")).alias(column))[column]


def read_mind(path: str, news_path: str | None = None, max_rows: int | None = None) -> FeedTable:
    impressions, candidates, history, file, blank = _behaviors(path, max_rows)
    rows = candidates.join(impressions, on="line", how="left", maintain_order="left")
    history_length = history.group_by("line").agg(pl.len().alias("history_length"))
    size = candidates.group_by("line").agg(pl.len().alias("impression_size"))
    # exposure so far: impressions showing the news up to this one, in time order (a serving system knows
    # past exposure only; a count over the whole file would show train rows the test period's traffic)
    shown = (
        candidates.select("line", "item")
        .unique()
        .join(impressions.select("line", "time"), on="line", how="left")
        .sort(["time", "line"])
        .select("line", "item", pl.int_range(1, pl.len() + 1).over("item").alias("shown"))
    )
    seen = history.unique().with_columns(pl.lit(1.0).alias("in_history"))
    rows = (
        rows.join(history_length, on="line", how="left", maintain_order="left")
        .join(size, on="line", how="left", maintain_order="left")
        .join(shown, on=["line", "item"], how="left", maintain_order="left")
        .join(seen, on=["line", "item"], how="left", maintain_order="left")
        .with_columns(
            pl.col("history_length").fill_null(0).cast(pl.Float64),
            pl.col("impression_size").cast(pl.Float64),
            pl.col("shown").cast(pl.Float64).log1p().alias("news_impressions"),
            pl.col("in_history").fill_null(0.0),
        )
    )

    per_impression = candidates.group_by("line").agg(
        (pl.col("click") == 1).any().alias("clicked"), (pl.col("click") == 0).any().alias("skipped")
    )
    info: dict[str, Any] = {
        "impressions": impressions.height,
        "rows": rows.height,
        "users": impressions["user"].n_unique(),
        "news": candidates["item"].n_unique(),
        "clicks": int((candidates["click"] == 1).sum()),
        "empty_history": impressions.height - history_length.height,
        "impressions_without_click": int((~per_impression["clicked"]).sum()),
        "impressions_without_nonclick": int((~per_impression["skipped"]).sum()),
        "repeated_candidates": rows.height - candidates.select("line", "item").n_unique(),
        "blank_lines": blank,
    }

    if news_path is not None:
        news, news_info = _news(news_path)
        info |= news_info
        rows = rows.join(news, on="item", how="left", maintain_order="left")
        history = history.join(news, on="item", how="left", maintain_order="left")
        rows = rows.with_columns(
            _affinity(rows, history, "category").alias("category_affinity"),
            _affinity(rows, history, "subcategory").alias("subcategory_affinity"),
        )
        known = news["item"].implode()
        referenced = pl.concat([candidates["item"], history["item"]]).unique()
        candidate_ids = candidates["item"].unique()
        history_ids = history["item"].unique()
        info |= {
            "news_ids_referenced": referenced.len(),
            "news_ids_with_news_row": int(referenced.is_in(known).sum()),
            "candidates_without_news_row": int((~candidate_ids.is_in(known)).sum()),
            "candidate_rows_without_news_row": int((~candidates["item"].is_in(known)).sum()),
            "history_without_news_row": int((~history_ids.is_in(known)).sum()),
            "missing_features": {},
        }
    else:
        rows = rows.with_columns(
            pl.lit(None, pl.Int64).alias("category"),
            pl.lit(None, pl.Int64).alias("subcategory"),
            pl.lit(None, pl.Float64).alias("category_affinity"),
            pl.lit(None, pl.Float64).alias("subcategory_affinity"),
        )
        info["missing_features"] = dict.fromkeys(
            ("category", "subcategory", "category_affinity", "subcategory_affinity"), NEEDS_NEWS
        )

    frame = rows.select(
        "query",
        "user",
        "item",
        "time",
        "click",
        pl.col("hour").alias("impression_hour"),
        *[pl.col(c).cast(pl.Float64) for c in NUMERIC if c != "impression_hour"],
        pl.col("item").alias("news"),
        pl.col("category").cast(pl.Int64),
        pl.col("subcategory").cast(pl.Int64),
    ).select("query", "user", "item", "time", "click", *NUMERIC, *[c for c in CATEGORICAL if c != "user"])
    return FeedTable(
        frame, tasks={"click": "binary"}, numeric=list(NUMERIC), categorical=list(CATEGORICAL), source=file, info=info
    )
