"""Similar listings end to end: tiny runs, reproducibility, Diginetica, bad input."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FAST, read_run, run_cli, shared_file

LISTINGS = ("case=similar_listings", *FAST)


def test_tiny_skipgram_run_records_everything(tmp_path: Path) -> None:
    assert run_cli(*LISTINGS, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    m = record["metrics"]
    assert record["objective"]["metric"] == "val/booking_mrr" and record["trained"]
    for key in (
        "test/booking_mrr",
        "test/booking_hit@10",
        "test/next_hr@20",
        "test/next_mrr@20",
        "test/cold_booking_mrr",
    ):
        assert 0.0 < m[key] <= 1.0, key
    assert m["test/booking_mean_rank"] >= 1.0
    assert record["data"]["training_pairs"] > 0 and record["data"]["bookings"] > 0
    assert record["serving"]["budget_ms"] == 50 and "12 most similar" in record["serving"]["request"]


def test_expected_and_shared_negatives_train_and_bad_modes_stop_before_training(tmp_path: Path, capsys) -> None:
    for mode in ("expected", "shared"):
        assert run_cli(*LISTINGS, f"skipgram.negative_sampling={mode}", f"hydra.run.dir={tmp_path / mode}") == 0
        assert read_run(tmp_path / mode)["metrics"]["test/booking_mrr"] > 0
    assert run_cli(*LISTINGS, "skipgram.negative_sampling=exact", f"hydra.run.dir={tmp_path / 'b'}") == 2
    assert "must be one of sampled, shared, expected" in capsys.readouterr().err
    shared_without_random = ("skipgram.negative_sampling=shared", "skipgram.negatives=0")
    assert run_cli(*LISTINGS, *shared_without_random, f"hydra.run.dir={tmp_path / 'c'}") == 2
    assert "shares the random negatives: set skipgram.negatives above 0" in capsys.readouterr().err


def test_cosine_similarity_runs_and_serves(tmp_path: Path, capsys) -> None:
    # in_out is the default (the tiny run above); the paper's cosine end to end here
    assert run_cli(*LISTINGS, "model.similarity=cosine", f"hydra.run.dir={tmp_path / 'a'}") == 0
    record = read_run(tmp_path / "a")
    m = record["metrics"]
    assert 0.0 < m["test/booking_mrr"] <= 1.0 and 0.0 < m["test/cold_booking_mrr"] <= 1.0
    assert record["serving"]["p99_ms"] > 0
    assert run_cli(*LISTINGS, "model.similarity=dot", f"hydra.run.dir={tmp_path / 'b'}") == 2
    assert "model.similarity must be one of cosine, in_out" in capsys.readouterr().err


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(*LISTINGS, "seed=3", f"hydra.run.dir={tmp_path / name}") == 0
    quality = [
        {k: v for k, v in read_run(tmp_path / n)["metrics"].items() if "/" in k and not k.startswith("serving")}
        for n in ("a", "b")
    ]
    assert quality[0] == quality[1]


def _views(tmp_path: Path, sessions: int = 40) -> str:
    lines = ["sessionId;userId;itemId;timeframe;eventdate"]
    for s in range(sessions):
        day = f"2016-05-{1 + s % 28:02d}"
        lines += [f"{s};NA;{(s + k) % 7};{k * 1000};{day}" for k in range(3)]
    path = tmp_path / "views.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_clicks_only_data_needs_the_next_click_suite(tmp_path: Path, capsys) -> None:
    args = ("dataset=diginetica", f"dataset.path={_views(tmp_path)}", "dataset.min_item_count=1")
    assert run_cli(*LISTINGS, *args, f"hydra.run.dir={tmp_path / 'a'}") == 2
    assert "has no bookings" in capsys.readouterr().err
    assert run_cli(*LISTINGS, *args, "eval=next_click", f"hydra.run.dir={tmp_path / 'c'}") == 2
    assert "Set skipgram.market_negatives=0" in capsys.readouterr().err
    args = (*args, "skipgram.market_negatives=0")
    assert run_cli(*LISTINGS, *args, "eval=next_click", f"hydra.run.dir={tmp_path / 'b'}") == 0
    assert read_run(tmp_path / "b")["metrics"]["test/next_hr@20"] > 0


def test_a_file_without_an_item_column_stops_before_training(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sessionId;userId;timeframe;eventdate\n1;NA;0;2016-01-01\n")
    assert run_cli(*LISTINGS, "dataset=diginetica", f"dataset.path={path}", "eval=next_click") == 2
    assert "no column itemId or item_id" in capsys.readouterr().err


def test_every_baseline_runs_on_the_diginetica_sample(tmp_path: Path) -> None:
    path = shared_file("diginetica-sample/sample_train-item-views.csv")
    for model in ("popularity", "session_covisitation", "skipgram"):
        run_dir = tmp_path / model
        code = run_cli(
            *LISTINGS,
            f"model={model}",
            "dataset=diginetica",
            f"dataset.path={path}",
            "eval=next_click",
            "skipgram.market_negatives=0",
            "dataset.valid_days=14",
            "dataset.test_days=14",
            f"hydra.run.dir={run_dir}",
        )
        assert code == 0
        record = read_run(run_dir)
        assert record["data"]["dropped"]["sessions"] > 0 and 0 <= record["metrics"]["test/next_hr@20"] <= 1
