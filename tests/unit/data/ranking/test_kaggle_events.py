"""Kaggle event recommendation: the fixture's counts, every feature by hand on a 3-user example with all
four side tables, and malformed files named by file and line."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from framework.data.formats.kaggle_events import N_CLUSTERS, TIMELINE, read_kaggle_events
from framework.errors import DataError
from tests.conftest import shared_file

TRAIN_HEADER = "user,event,invited,timestamp,interested,not_interested\n"
DEGREE_KM = 6371.0 * math.pi / 180  # one degree of longitude on the equator


def test_fixture_counts_and_unlabelled_test_rows() -> None:
    train = shared_file("kaggle-event-recommendation/train.csv")
    test = shared_file("kaggle-event-recommendation/test.csv")
    table = read_kaggle_events(str(train), test_path=str(test))
    frame, info = table.frame, table.info
    # README: 15,398 rows, 2,034 users, 4,131 interested; 178 repeated (user, event) lines dropped
    assert info["train_rows"] == 15398 and info["train_duplicates_dropped"] == 178
    assert frame.height == 15398 - 178 and frame["query"].n_unique() == 2034 and frame["label"].sum() == 4131
    assert info["train_not_interested"] == 514 and info["train_interested_and_not"] == 0
    assert table.unlabelled is not None and table.unlabelled["query"].n_unique() == 1357
    assert table.unlabelled.height == 10237 - info["test_duplicates_dropped"]
    assert table.unlabelled["label"].null_count() == table.unlabelled.height
    from_log = {"invited", "seen_hour", "event_popularity", "event_days_shown", "event_id", *TIMELINE}
    for c in from_log:
        assert frame[c].null_count() == 0, c
    assert set(info["missing_features"]) == set(table.features) - from_log
    assert table.groups["timeline"] == TIMELINE and "event_days_shown" in table.groups["popularity"]
    # the event's own id, a categorical feature in a group of its own (an id embedding; a category for trees)
    assert table.groups["event_id"] == ["event_id"] and "event_id" in table.categorical
    assert frame["event_id"].to_list() == frame["item"].to_list()
    assert table.unlabelled["event_id"].to_list() == table.unlabelled["item"].to_list()
    # a user's later impressions are the ones they came back for (57 % interested against 17 %)
    later = frame["user_days_active"] > 0
    assert frame.filter(later)["label"].mean() > 0.5 > 0.2 > frame.filter(~later)["label"].mean()
    assert 15400 < frame["time"].min() < frame["time"].max() < 15700  # 2012-03-01 .. 2012-12-26
    assert read_kaggle_events(str(train), max_rows=100).frame.height <= 100


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode())  # the competition's CRLF line endings
    return str(path)


def _event(event: int, host: int, start: str, lat: str, lng: str, word: int | None) -> str:
    words = ["0"] * 100
    if word is not None:
        words[word - 1] = "4" if word == 1 else "1"
    return f"{event},{host},{start},city,,,,{lat},{lng},{','.join(words)},0\n"


def _example(tmp_path: Path) -> dict[str, str]:
    events_header = "event_id,user_id,start_time,city,state,zip,country,lat,lng," + ",".join(
        [f"c_{k}" for k in range(1, 101)] + ["c_other"]
    )
    return {
        "path": _write(
            tmp_path,
            "train.csv",
            TRAIN_HEADER + "1,10,0,2012-10-01 10:00:00.000000+00:00,1,0\n"
            "1,11,1,2012-10-01 10:00:00+00:00,0,0\n"
            "2,10,0,2012-10-02 20:30:00+00:00,0,1\n"
            "2,12,0,2012-10-02 20:30:00+00:00,1,0\n"
            "3,11,0,2012-10-03 06:00:00+00:00,0,0\n"
            "3,11,0,2012-10-03 06:00:00+00:00,0,0\n",
        ),
        "test_path": _write(tmp_path, "test.csv", "user,event,invited,timestamp\n4,10,0,2012-10-05 12:00:00+00:00\n"),
        "users_path": _write(
            tmp_path,
            "users.csv",
            "user_id,locale,birthyear,gender,joinedAt,location,timezone\n"
            "1,en_US,1990,male,2012-01-01T00:00:00.000Z,Somewhere,120\n"
            "2,en_US,1990,female,2012-01-01T00:00:00.000Z,,-60\n"
            "3,en_US,None,male,,,\n"
            "4,en_US,1990,male,,,0\n",
        ),
        "events_path": _write(
            tmp_path,
            "events.csv",
            events_header
            + "\n"
            + _event(10, 2, "2012-10-06T19:00:00.000Z", "0.0", "1.0", 1)  # Saturday
            + _event(11, 5, "2012-10-08T09:30:00.000Z", "0.0", "0.0", None)  # Monday, no words
            + _event(12, 2, "2012-10-03T18:00:00.000Z", "", "", 2)  # Wednesday, no venue
            + _event(20, 5, "2012-09-01T18:00:00.000Z", "0.0", "0.0", 1)
            + _event(21, 2, "2012-09-02T18:00:00.000Z", "0.0", "2.0", 2)
            + _event(30, 6, "2012-09-03T18:00:00.000Z", "1.0", "1.0", 3),
        ),
        "friends_path": _write(tmp_path, "user_friends.csv", "user,friends\n1,3 7 2\n2,1\n3,\n4,1 3\n"),
        "attendees_path": _write(
            tmp_path,
            "event_attendees.csv",
            "event,yes,maybe,invited,no\n10,1 3 7,,2 3,\n11,,,1,\n12,2 3,,,\n20,1 2,,,\n21,1,,,4\n",
        ),
    }


def test_timeline_features_by_hand(tmp_path: Path) -> None:
    """User 1 is shown two events on day 0, one on day 2, two on day 3 (one in test.csv); user 2 one on day 1."""
    day = ["2012-10-01 10:00:00+00:00", "2012-10-02 10:00:00+00:00", "2012-10-03 10:00:00+00:00"]
    train = _write(
        tmp_path,
        "train.csv",
        TRAIN_HEADER + f"1,10,0,{day[0]},0,0\n1,11,0,{day[0]},0,0\n2,10,0,{day[1]},0,0\n1,12,0,{day[2]},1,0\n"
        "1,13,0,2012-10-04 10:00:00+00:00,1,0\n",
    )
    test = _write(tmp_path, "test.csv", "user,event,invited,timestamp\n1,10,0,2012-10-04 10:00:00+00:00\n")
    table = read_kaggle_events(train, test_path=test)
    f, u = table.frame, table.unlabelled

    def column(name: str) -> list:
        return [*f[name].to_list(), *u[name].to_list()]  # train rows in file order, then test's (1, 10)

    assert np.allclose(column("user_days_active"), np.log1p([0, 0, 0, 2, 3, 3]))
    assert np.allclose(column("user_seen_before"), np.log1p([0, 0, 0, 2, 3, 3]))
    assert np.allclose(column("shown_together"), np.log1p([2, 2, 1, 1, 2, 2]))
    # event 10 first shown on day 0; 11, 12, 13 on the day of their only row
    assert np.allclose(column("event_days_shown"), np.log1p([0, 0, 1, 0, 0, 3]))


def test_every_feature_by_hand_on_three_users(tmp_path: Path) -> None:
    table = read_kaggle_events(**_example(tmp_path))
    assert table.info["missing_features"] == {} and table.info["train_duplicates_dropped"] == 1
    f, u = table.frame, table.unlabelled
    assert f["query"].to_list() == [1, 1, 2, 2, 3] and f["item"].to_list() == [10, 11, 10, 12, 11]
    assert f["label"].to_list() == [1, 0, 0, 1, 0] and u["item"].to_list() == [10]
    assert np.isclose(f["time"][0], 15614 + 10 / 24)  # 2012-10-01 10:00 UTC in days since 1970

    def column(name: str) -> list:
        return [*f[name].to_list(), *u[name].to_list()]  # train rows, then test's (4, 10)

    assert column("invited") == [0, 1, 0, 0, 0, 0]
    assert column("event_id") == [10, 11, 10, 12, 11, 10]
    assert column("seen_hour") == [12, 12, 19, 19, 6, 12]  # local: UTC+2h, UTC-1h, unknown (UTC), UTC
    assert np.allclose(column("event_popularity"), np.log1p([3, 2, 3, 1, 2, 3]))  # users shown, train + test
    assert column("event_hour") == [19, 9, 19, 18, 9, 19]
    assert column("event_weekday") == [5, 0, 5, 2, 0, 5]
    assert np.allclose(
        column("lead_days"), [5 + 9 / 24, 6 + 23.5 / 24, 3 + 22.5 / 24, 21.5 / 24, 5 + 3.5 / 24, 1 + 7 / 24]
    )
    directions = np.random.default_rng(0).standard_normal((100, N_CLUSTERS))
    a, b = int(directions[0].argmax()), int(directions[1].argmax())  # clusters of words c_1, c_2
    assert a != b
    assert column("category") == [a, N_CLUSTERS, a, b, N_CLUSTERS, a]
    assert column("host_is_friend") == [1, 0, 0, 0, 0, 0]  # user 1 lists the host of 10 (user 2)
    assert column("friends_yes") == [2, 0, 1, 0, 0, 2]
    assert column("friends_invited") == [2, 0, 0, 0, 0, 1]
    # host 2: events 10, 12, 21 with 3 + 2 + 1 yes; host 5: events 11, 20 with 0 + 2; the user's own yes left out
    assert np.allclose(column("host_popularity"), np.log1p([5 / 3, 1, 2, 5 / 3, 1, 2]))
    # histories (yes answers outside one's own list): 1 -> {20, 21}, 2 -> {20}, 3 -> {10, 12}, 4 -> {}
    # homes: 1 at (0, 1), 2 at (0, 0), 3 at (0, 1) (12 has no venue), 4 unknown
    assert np.allclose(column("distance_km")[:3], [0.0, DEGREE_KM, DEGREE_KM])
    assert column("distance_km")[3] is None and column("distance_km")[5] is None  # no venue; no history
    assert np.isclose(column("distance_km")[4], DEGREE_KM)
    assert column("category_affinity") == [0.5, 0.0, 1.0, 0.0, 0.0, None]


def test_side_tables_are_optional_and_missing_features_say_why(tmp_path: Path) -> None:
    paths = _example(tmp_path)
    table = read_kaggle_events(paths["path"], events_path=paths["events_path"], friends_path=paths["friends_path"])
    missing = table.info["missing_features"]
    assert set(missing) == {"host_popularity", "distance_km", "category_affinity", "friends_yes", "friends_invited"}
    assert missing["distance_km"] == "needs event_attendees.csv (dataset.attendees_path)"
    assert missing["friends_yes"] == missing["distance_km"]
    assert table.frame["host_is_friend"].to_list() == [1, 0, 0, 0, 0]
    assert table.frame["distance_km"].null_count() == table.frame.height
    assert table.unlabelled is None and table.info["seen_hour_clock"].startswith("UTC")


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ("user,event,invited,timestamp,interested\n1,10,0,2012-10-01 10:00:00+00:00,1\n", "no column not_interested"),
        (
            TRAIN_HEADER + "1,10,0,2012-10-01 10:00:00+00:00,1,0\n1,x1,0,2012-10-01 10:00:00+00:00,1,0\n",
            "train.csv, line 3: event must be an integer id, got 'x1'",
        ),
        (TRAIN_HEADER + "1,10,0,2012-10-01 10:00:00+00:00,2,0\n", "train.csv, line 2: interested must be 0 or 1"),
        (TRAIN_HEADER + "1,10,0,yesterday,1,0\n", "train.csv, line 2: timestamp must be a time"),
        (
            TRAIN_HEADER + "1,10,0,2012-10-01 10:00:00+00:00,1,0\n2,99,0,2012-10-01 10:00:00+00:00,1,0\n",
            "train.csv, line 3: event 99 is not in events.csv (1 row(s)",
        ),
        (
            TRAIN_HEADER + "1,10,0,2012-10-01 10:00:00+00:00,1,0\n9,10,0,2012-10-01 10:00:00+00:00,1,0\n",
            "train.csv, line 3: user 9 is not in users.csv",
        ),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, train: str, message: str) -> None:
    paths = _example(tmp_path)
    paths["path"] = _write(tmp_path, "train.csv", train)
    del paths["test_path"]
    with pytest.raises(DataError) as error:
        read_kaggle_events(**paths)
    assert message in str(error.value)


def test_missing_file_and_bad_side_table_line(tmp_path: Path) -> None:
    paths = _example(tmp_path)
    with pytest.raises(DataError, match="not found"):
        read_kaggle_events(str(tmp_path / "nope.csv"))
    paths["friends_path"] = _write(tmp_path, "user_friends.csv", "user,friends\n1,3 7 2\n2,1 y\n")
    with pytest.raises(DataError, match=r"user_friends.csv, line 3: friends must be space-separated integer ids"):
        read_kaggle_events(**paths)
