"""Event recommendation end to end: tiny runs of every model and loss, reproducibility, the ablation,
the Kaggle fixture and bad input."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FAST, read_run, run_cli, shared_file

EVENTS = ("case=event_recommendation", *FAST)
SUITE = ("test/map@200", "test/ndcg@10", "test/ndcg@5", "test/mrr", "test/precision@1")


def _quality(record: dict) -> dict:
    return {k: v for k, v in record["metrics"].items() if k.startswith(("val/", "test/"))}


def test_tiny_dnn_run_records_the_suite_and_the_queries_it_skipped(tmp_path: Path) -> None:
    assert run_cli(*EVENTS, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/map@200" and record["trained"] is True
    for key in SUITE:
        assert 0.0 < record["metrics"][key] <= 1.0, key
    data = record["data"]
    assert set(data["queries_without_positive"]) == {"train", "valid", "test"}
    assert data["train_queries"] > data["test_queries"] > 0
    assert record["serving"]["budget_ms"] == 100 and "candidate list" in record["serving"]["request"]
    groups = record["feature_groups"]
    assert {"location", "time", "social", "host", "popularity", "category"} <= set(groups)


def test_the_lambdarank_loss_trains(tmp_path: Path) -> None:
    # the other losses: unit tests (framework/losses), the default run above and experiment=events_loss
    assert run_cli(*EVENTS, "ltr.loss=lambdarank", f"hydra.run.dir={tmp_path}") == 0
    assert read_run(tmp_path)["metrics"]["test/map@200"] > 0


def test_trees_are_saved_with_their_curve(tmp_path: Path) -> None:
    # every model of the case also runs in tests/cases/test_smoke.py
    assert run_cli(*EVENTS, "model=lightgbm", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert (tmp_path / "model.txt").exists() and record["epochs"] >= 1 and record["parameters"] > 0
    assert record["history"] and "val/map@200" in record["history"][0] and record["lightgbm_curve"]


def test_same_seed_same_metrics_for_a_network_and_the_trees(tmp_path: Path) -> None:
    for model in ("dnn", "lightgbm"):
        for name in ("a", "b"):
            assert run_cli(*EVENTS, f"model={model}", "seed=3", f"hydra.run.dir={tmp_path / model / name}") == 0
        assert _quality(read_run(tmp_path / model / "a")) == _quality(read_run(tmp_path / model / "b"))


def test_ablation_leaves_a_group_out_and_an_unknown_group_stops_before_training(tmp_path: Path, capsys) -> None:
    assert run_cli(*EVENTS, "model=lightgbm", "ltr.drop_groups=[location]", f"hydra.run.dir={tmp_path / 'a'}") == 0
    record = read_run(tmp_path / "a")
    names = [f["name"] for f in record["feature_spec"]["features"]]
    assert "distance_km" not in names and record["data"]["dropped_groups"] == ["location"]
    assert run_cli(*EVENTS, "ltr.drop_groups=[weather]", f"hydra.run.dir={tmp_path / 'b'}") == 2
    err = capsys.readouterr().err
    assert "ltr.drop_groups names ['weather']" in err and "location" in err
    assert not (tmp_path / "b" / "run.json").exists() or read_run(tmp_path / "b")["status"] != "finished"


def test_time_split_runs(tmp_path: Path) -> None:
    assert run_cli(*EVENTS, "dataset.split_strategy=time", f"hydra.run.dir={tmp_path}") == 0
    assert read_run(tmp_path)["data"]["split_strategy"] == "time"


def test_kaggle_fixture_trains_and_ranks_the_unlabelled_users(tmp_path: Path, capsys) -> None:
    train = shared_file("kaggle-event-recommendation/train.csv")
    test = shared_file("kaggle-event-recommendation/test.csv")
    args = ("dataset=kaggle_events", f"dataset.path={train}", f"dataset.test_path={test}", "model=lightgbm")
    assert run_cli(*EVENTS, *args, "dataset.max_rows=null", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["metrics"]["test/map@200"] > 0
    assert "feature(s) have no values" in capsys.readouterr().err  # no side tables: the run says what is missing
    assert "distance_km" in record["data"]["source_info"]["missing_features"]
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "query,items" and len(lines) - 1 == 1357  # test.csv's users, each ranked
    user, items = lines[1].split(",")
    assert int(user) > 0 and all(int(i) > 0 for i in items.split())


def test_bad_kaggle_file_stops_with_file_and_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "train.csv"
    stamp = "2012-10-02 15:53:05.754000+00:00"
    path.write_text(f"user,event,invited,timestamp,interested,not_interested\n1,2,0,{stamp},1,0\nx,3,0,{stamp},0,0\n")
    args = ("dataset=kaggle_events", f"dataset.path={path}")
    assert run_cli(*EVENTS, *args, f"hydra.run.dir={tmp_path / 'run'}") == 2
    err = capsys.readouterr().err
    assert "train.csv" in err and "line 3" in err
