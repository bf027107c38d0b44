"""Kaggle "Event Recommendation Engine Challenge" (2013): `train.csv` rows `user,event,invited,timestamp,
interested,not_interested` (CRLF line endings accepted; timestamps like `2012-10-02 15:53:05.754000+00:00`),
`test.csv` rows `user,event,invited,timestamp` (no label: the `unlabelled` frame), and four optional side
tables in the competition's formats:

    users.csv           user_id,locale,birthyear,gender,joinedAt,location,timezone (minutes from UTC)
    events.csv          event_id,user_id (the host),start_time (2012-10-31T00:00:00.001Z),city,state,zip,
                        country,lat,lng,c_1,...,c_100,c_other (c_k: counts of the k-th common description word)
    user_friends.csv    user,friends (space-separated user ids)
    event_attendees.csv event,yes,maybe,invited,no (space-separated user ids each)

A query is a user, an item an event shown to them; `time` is when it was shown (days since 1970). The label
is `interested` (the competition ranked by it); rows marked both interested and not_interested (none in
the competition's train.csv) count as interested and are counted in `info`. A (user, event) pair seen
twice keeps its first line (178 in train.csv, all with equal labels).

Features, the same names and groups as the synthetic source (framework/data/synthetic/events.py):
- from train/test alone: `invited`; `seen_hour` (hour shown: local with users.csv's timezone, else UTC);
  `event_popularity` = log1p(users shown the event in train + test rows; no label is used);
  `event_days_shown` = log1p(days since anyone was first shown the event), in the popularity group; and
  a `timeline` group the synthetic source lacks, the user's impressions up to this one (train + test
  rows, no label, nothing later than the row): `user_days_active` = log1p(days since the user's first
  impression), `user_seen_before` = log1p(events shown to the user at earlier times), `shown_together` =
  log1p(events shown to the user at this same time, this one included). A user's later impressions are
  the ones they came back for: on the fixture 57 % of them are "interested" against 17 % of first ones.
- `event_id`, the event's own id as a categorical feature in a group of its own: an embedding for the
  networks, a category for the trees (ids first seen outside the train split are out of vocabulary). An
  event's appeal beyond its features is real-data signal: without the id, trees still recover it from
  near-unique values (an event's exact viewer count, its first-shown time), networks cannot.
- with events.csv: `event_hour`, `event_weekday` (0 = Monday) of start_time as written; `lead_days` =
  start minus shown; `category` = the event's word cluster: the c_1..c_100 counts, square-rooted and
  normalised, projected on 10 fixed Gaussian directions (numpy seed 0), the argmax (10 = no words), so an
  event's cluster does not depend on which other events are read.
- with events.csv + event_attendees.csv, from the user's history: the events the user said yes to in
  event_attendees.csv, less every event shown to the user in train/test (their yes there is the label):
  `distance_km` from the venue to the centroid of the history's venues (users.csv's location is free
  text; this proxy stands for the home), `category_affinity` = share of the history in the event's
  category (null for a user without history); `host_popularity` = log1p of the mean 'yes' count of the
  host's events (the user's own yes left out).
- with user_friends.csv: `host_is_friend` (needs events.csv), and with event_attendees.csv `friends_yes`,
  `friends_invited` (the user's friends on the event's yes / invited lists).
A feature whose tables are not given stays a null column, with the reason in `info["missing_features"]`.

A missing file or column, a non-integer id, a bad timestamp or a label outside {0, 1} is a DataError naming
the file and line; so is an event (user) of train/test absent from the events.csv (users.csv) given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from framework.data.formats.text_csv import checked_cast, id_lists, int_ids, read_text_csv
from framework.data.ranking.table import QueryTable
from framework.data.synthetic.events import CATEGORICAL, GROUPS, NUMERIC
from framework.data.tabular.table import check_file
from framework.errors import DataError

TRAIN_HEADER = ["user", "event", "invited", "timestamp", "interested", "not_interested"]
TEST_HEADER = TRAIN_HEADER[:4]
WORDS = [f"c_{k}" for k in range(1, 101)]
EVENTS_HEADER = ["event_id", "user_id", "start_time", "lat", "lng", *WORDS]
TIMELINE = ["user_days_active", "user_seen_before", "shown_together"]
N_CLUSTERS = 10
EARTH_KM = 6371.0
NEEDS = {
    "events": "needs events.csv (dataset.events_path)",
    "attendees": "needs event_attendees.csv (dataset.attendees_path)",
    "friends": "needs user_friends.csv (dataset.friends_path)",
}
REQUIRES = {  # the side tables each feature needs
    **dict.fromkeys(("event_hour", "event_weekday", "lead_days", "category"), ("events",)),
    **dict.fromkeys(("host_popularity", "distance_km", "category_affinity"), ("events", "attendees")),
    "host_is_friend": ("events", "friends"),
    **dict.fromkeys(("friends_yes", "friends_invited"), ("attendees", "friends")),
}


def _shown(path: str, labelled: bool, max_rows: int | None) -> tuple[pl.DataFrame, str, dict[str, int]]:
    name = "train.csv" if labelled else "test.csv"
    header = TRAIN_HEADER if labelled else TEST_HEADER
    what = f"Kaggle event recommendation {name}"
    raw, file = read_text_csv(path, what, header, ",".join(header) + f" (the competition's {name})", max_rows)
    stamp = raw["timestamp"].str.strip_chars().str.to_datetime("%Y-%m-%d %H:%M:%S%.f%z", strict=False, time_zone="UTC")
    checked_cast(raw, stamp, "timestamp", file, "a time like 2012-10-02 15:53:05.754000+00:00")
    columns: dict[str, Any] = {
        "line": raw["line"],
        "query": int_ids(raw, "user", file),
        "item": int_ids(raw, "event", file),
        "time": stamp.dt.epoch("us").cast(pl.Float64) / 86_400e6,
    }
    for flag in ["invited", *(["interested", "not_interested"] if labelled else [])]:
        values = raw[flag].str.strip_chars()
        checked_cast(raw, values.replace_strict({"0": 0, "1": 1}, default=None), flag, file, "0 or 1")
        columns[flag] = values == "1"
    frame = pl.DataFrame(columns)
    info = {"rows": frame.height}
    if labelled:
        both = frame["interested"] & frame["not_interested"]
        info |= {"not_interested": int(frame["not_interested"].sum()), "interested_and_not": int(both.sum())}
        frame = frame.with_columns(pl.col("interested").cast(pl.Float32).alias("label"))
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float32).alias("label"))
    unique = frame.unique(["query", "item"], keep="first", maintain_order=True)
    info["duplicates_dropped"] = frame.height - unique.height
    return unique.select("line", "query", "item", "time", "label", "invited"), file, info


def _unknown(rows: pl.DataFrame, column: str, known: pl.Series, files: dict[str, str], table: str) -> None:
    """An id of train/test absent from a side table: a DataError naming the first such line."""
    absent = rows.filter(~pl.col(column).is_in(known.implode()))
    if absent.height:
        first = absent.row(0, named=True)
        what = "event" if column == "item" else "user"
        raise DataError(
            f"{files[first['part']]}, line {first['line']}: {what} {first[column]} is not in {table} "
            f"({absent.height} row(s) name {what}s absent from it). Give the {table} of the same data, or "
            f"leave its path out."
        )


def _categories(words: np.ndarray) -> np.ndarray:
    """Cluster ids of word-count vectors: argmax over 10 fixed random projections; 10 = no words."""
    x = np.sqrt(np.maximum(words, 0.0))
    norm = np.linalg.norm(x, axis=1)
    directions = np.random.default_rng(0).standard_normal((words.shape[1], N_CLUSTERS))
    cluster = np.argmax((x / np.maximum(norm, 1e-12)[:, None]) @ directions, axis=1)
    return np.where(norm > 0, cluster, N_CLUSTERS).astype(np.int64)


def read_kaggle_events(
    path: str,
    test_path: str | None = None,
    users_path: str | None = None,
    events_path: str | None = None,
    friends_path: str | None = None,
    attendees_path: str | None = None,
    max_rows: int | None = None,
) -> QueryTable:
    train, train_file, train_info = _shown(path, True, max_rows)
    files = {"train": train_file}
    parts = [train.with_columns(pl.lit("train").alias("part"))]
    info: dict[str, Any] = {f"train_{k}": v for k, v in train_info.items()}
    if test_path is not None:
        test, files["test"], test_info = _shown(test_path, False, None)
        parts.append(test.with_columns(pl.lit("test").alias("part")))
        info |= {f"test_{k}": v for k, v in test_info.items()}
    rows = pl.concat(parts).with_row_index("row")
    n = rows.height
    features: dict[str, Any] = {c: np.full(n, np.nan) for c in NUMERIC}
    features |= {c: np.full(n, -1, np.int64) for c in CATEGORICAL}
    missing: dict[str, str] = {}
    features["invited"] = rows["invited"].cast(pl.Float64).to_numpy()
    shown_count = rows.group_by("item").agg(pl.len().alias("n"))
    features["event_popularity"] = np.log1p(
        rows.join(shown_count, on="item", how="left", maintain_order="left")["n"].to_numpy().astype(np.float64)
    )

    features |= _timeline(rows)

    utc_offset = np.zeros(n)  # days
    if users_path is not None:
        layout = "user_id,locale,birthyear,gender,joinedAt,location,timezone (the competition's users.csv)"
        what = "Kaggle event recommendation users.csv"
        users, ufile = read_text_csv(users_path, what, ["user_id", "timezone"], layout)
        users = pl.DataFrame(
            {
                "query": int_ids(users, "user_id", ufile),
                "tz": checked_cast(
                    users,
                    users["timezone"].str.strip_chars().cast(pl.Float64, strict=False),
                    "timezone",
                    ufile,
                    "minutes from UTC or empty",
                    optional=True,
                ),
            }
        ).unique("query", keep="first")
        _unknown(rows, "query", users["query"], files, "users.csv")
        tz = rows.join(users, on="query", how="left", maintain_order="left")["tz"].fill_null(0.0)
        utc_offset = tz.to_numpy() / 1440.0
        info["seen_hour_clock"] = "local (users.csv timezone)"
    else:
        info["seen_hour_clock"] = "UTC (no users.csv)"
    time = rows["time"].to_numpy()
    features["seen_hour"] = np.floor(np.mod(time + utc_offset, 1.0) * 24.0)

    friends = None
    if friends_path is not None:
        layout = "user,friends (space-separated ids; the competition's user_friends.csv)"
        raw, ffile = read_text_csv(friends_path, "user_friends.csv", ["user", "friends"], layout)
        raw = raw.with_columns(int_ids(raw, "user", ffile).alias("user")).filter(
            pl.col("user").is_in(rows["query"].unique().implode())
        )
        friends = id_lists(raw, "user", "friends", ffile).rename({"user": "query", "member": "friend"})
        info["users_without_friends_row"] = int((~rows["query"].unique().is_in(raw["user"].implode())).sum())

    yes = invited = None
    if attendees_path is not None:
        layout = "event,yes,maybe,invited,no (space-separated ids; the competition's event_attendees.csv)"
        raw, afile = read_text_csv(attendees_path, "event_attendees.csv", ["event", "yes", "invited"], layout)
        raw = raw.with_columns(int_ids(raw, "event", afile).alias("event")).unique("event", keep="first")
        yes = id_lists(raw, "event", "yes", afile).rename({"member": "user"})
        invited = id_lists(raw, "event", "invited", afile).rename({"member": "user"})
        if friends is not None:
            for name, lists in (("friends_yes", yes), ("friends_invited", invited)):
                counts = (
                    rows.select("row", "query", "item")
                    .join(friends, on="query")
                    .join(lists, left_on=["item", "friend"], right_on=["event", "user"])
                    .group_by("row")
                    .agg(pl.len().alias("n"))
                )
                features[name] = np.zeros(n)
                features[name][counts["row"].to_numpy()] = counts["n"].to_numpy()

    if events_path is not None:
        _event_features(rows, events_path, files, yes, friends, features, info)
    given = {"events": events_path, "attendees": attendees_path, "friends": friends_path}
    for feature, tables in REQUIRES.items():
        lacking = [t for t in tables if given[t] is None]
        if lacking:
            missing[feature] = " and ".join(NEEDS[t] for t in lacking)

    numeric = [*NUMERIC, "event_days_shown", *TIMELINE]
    categorical = [*CATEGORICAL, "event_id"]
    groups = {g: list(c) for g, c in GROUPS.items()} | {"timeline": list(TIMELINE), "event_id": ["event_id"]}
    groups["popularity"].append("event_days_shown")
    features["event_id"] = rows["item"].to_numpy()
    columns = {c: pl.Series(c, v, pl.Float64).fill_nan(None) for c, v in features.items() if c in numeric}
    columns |= {c: pl.Series(c, v, pl.Int64) for c, v in features.items() if c in categorical}
    frame = (
        rows.select("part", "query", "item", "time", "label")
        .with_columns(*[columns[c] for c in (*numeric, *categorical)])
        .with_columns(*[pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in CATEGORICAL])
    )
    info |= {
        "missing_features": missing,
        "users": rows.filter(pl.col("part") == "train")["query"].n_unique(),
        "events": rows.filter(pl.col("part") == "train")["item"].n_unique(),
    }
    labelled = frame.filter(pl.col("part") == "train").drop("part")
    unlabelled = frame.filter(pl.col("part") == "test").drop("part") if test_path is not None else None
    return QueryTable(
        labelled,
        numeric,
        categorical,
        groups,
        source=train_file,
        info=info,
        unlabelled=unlabelled,
    )


def _timeline(rows: pl.DataFrame) -> dict[str, np.ndarray]:
    """Features of when things were shown (train + test rows, labels unused, nothing after the row's time):
    the user's impression history up to this one, and how long the event has been shown."""
    times = rows.group_by("query", "time").agg(pl.len().alias("together")).sort("query", "time")
    times = times.with_columns(
        (pl.col("together").cum_sum().over("query") - pl.col("together")).alias("before"),
        pl.col("time").min().over("query").alias("user_first"),
    )
    first_shown = rows.group_by("item").agg(pl.col("time").min().alias("event_first"))
    at = rows.select("query", "item", "time").join(times, on=["query", "time"], how="left", maintain_order="left")
    at = at.join(first_shown, on="item", how="left", maintain_order="left")
    return {
        "user_days_active": np.log1p((at["time"] - at["user_first"]).to_numpy()),
        "user_seen_before": np.log1p(at["before"].to_numpy().astype(np.float64)),
        "shown_together": np.log1p(at["together"].to_numpy().astype(np.float64)),
        "event_days_shown": np.log1p((at["time"] - at["event_first"]).to_numpy()),
    }


def _event_features(
    rows: pl.DataFrame,
    events_path: str,
    files: dict[str, str],
    yes: pl.DataFrame | None,
    friends: pl.DataFrame | None,
    features: dict[str, Any],
    info: dict[str, Any],
) -> None:
    """The features that need events.csv, written into `features` (arrays over `rows`)."""
    layout = "event_id,user_id,start_time,city,state,zip,country,lat,lng,c_1,...,c_100,c_other (events.csv)"
    what = "Kaggle event recommendation events.csv"
    file = str(check_file(events_path, what))
    scan = pl.scan_csv(file, infer_schema=False, row_index_name="line", row_index_offset=2)
    names = [c.strip() for c in scan.collect_schema().names()]
    absent = [c for c in EVENTS_HEADER if c not in names]
    if absent:
        raise DataError(f"{file}: no column {', '.join(absent[:5])} in the header {names[1:13]}. Expected {layout}.")
    ids = scan.select("line", "event_id", "user_id").collect()
    hosts = pl.DataFrame({"event": int_ids(ids, "event_id", file), "host": int_ids(ids, "user_id", file)})
    hosts = hosts.unique("event", keep="first", maintain_order=True)
    _unknown(rows, "item", hosts["event"], files, "events.csv")

    # the user's history: yes answers outside their own lists
    history = None
    if yes is not None:
        history = (
            yes.rename({"user": "query"})
            .join(rows.select("query", pl.col("item").alias("event")), on=["query", "event"], how="anti")
            .filter(pl.col("query").is_in(rows["query"].unique().implode()))
        )
    needed = rows["item"].unique()
    if history is not None:
        needed = pl.concat([needed, history["event"].rename("item")]).unique()
    raw = scan.with_columns(pl.col("event_id").str.strip_chars().cast(pl.Int64, strict=False).alias("event"))
    raw = raw.filter(pl.col("event").is_in(needed.implode())).collect().unique("event", keep="first")
    start = raw["start_time"].str.strip_chars().str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", strict=False)
    checked_cast(raw, start, "start_time", file, "a time like 2012-10-31T00:00:00.001Z")
    lat = checked_cast(
        raw, raw["lat"].str.strip_chars().cast(pl.Float64, strict=False), "lat", file, "a number or empty", True
    )
    lng = checked_cast(
        raw, raw["lng"].str.strip_chars().cast(pl.Float64, strict=False), "lng", file, "a number or empty", True
    )
    words = np.stack(
        [
            checked_cast(
                raw, raw[c].str.strip_chars().cast(pl.Float64, strict=False), c, file, "a count or empty", True
            )
            .fill_null(0.0)
            .to_numpy()
            for c in WORDS
        ],
        axis=1,
    )
    events = pl.DataFrame(
        {
            "event": raw["event"],
            "start": start.dt.epoch("us").cast(pl.Float64) / 86_400e6,
            "hour": start.dt.hour().cast(pl.Float64),
            "weekday": start.dt.weekday().cast(pl.Int64) - 1,  # polars: 1 = Monday
            "lat": lat,
            "lng": lng,
            "category": _categories(words),
        }
    )
    at = rows.select("row", "query", "item").join(
        events, left_on="item", right_on="event", how="left", maintain_order="left"
    )
    features["event_hour"] = at["hour"].to_numpy()
    features["event_weekday"] = at["weekday"].to_numpy()
    features["lead_days"] = (at["start"] - rows["time"]).to_numpy()
    features["category"] = at["category"].to_numpy()
    hosted = rows.select("row", "query", "item").join(
        hosts, left_on="item", right_on="event", how="left", maintain_order="left"
    )
    if friends is not None:
        is_friend = hosted.join(friends, left_on=["query", "host"], right_on=["query", "friend"], how="semi")
        features["host_is_friend"] = np.zeros(len(hosted))
        features["host_is_friend"][is_friend["row"].to_numpy()] = 1.0
    if yes is None or history is None:
        return

    # host popularity: mean yes count of the host's events, the user's own yes left out
    yes_count = yes.group_by("event").agg(pl.len().alias("yes"))
    per_host = (
        hosts.join(yes_count, on="event", how="left")
        .group_by("host")
        .agg(pl.col("yes").fill_null(0).sum().alias("total"), pl.len().alias("events"))
    )
    own = hosted.join(yes.rename({"user": "query"}), left_on=["item", "query"], right_on=["event", "query"], how="semi")
    own_yes = np.zeros(len(hosted))
    own_yes[own["row"].to_numpy()] = 1.0
    host = hosted.join(per_host, on="host", how="left", maintain_order="left")
    features["host_popularity"] = np.log1p((host["total"].to_numpy() - own_yes) / host["events"].to_numpy())

    # the user's history: venue centroid and category shares
    past = history.join(events, on="event")
    centroid = past.group_by("query").agg(
        pl.col("lat").mean().alias("home_lat"), pl.col("lng").mean().alias("home_lng")
    )
    home = at.join(centroid, on="query", how="left", maintain_order="left")
    phi1, phi2 = np.radians(home["home_lat"].to_numpy()), np.radians(home["lat"].to_numpy())
    dlam = np.radians(home["lng"].to_numpy() - home["home_lng"].to_numpy())
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    features["distance_km"] = 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))  # haversine; NaN: unknown
    size = past.group_by("query").agg(pl.len().alias("size"))
    shares = past.group_by("query", "category").agg(pl.len().alias("k"))
    affinity = (
        at.join(size, on="query", how="left", maintain_order="left")
        .join(shares, on=["query", "category"], how="left", maintain_order="left")
        .select((pl.col("k").fill_null(0) / pl.col("size")).alias("affinity"))
    )
    features["category_affinity"] = affinity["affinity"].to_numpy().astype(np.float64)
    info["users_with_history"] = size.height
