"""`python run.py case=ad_click retraining=<strategy>`: each strategy on a tiny replay (six daily windows
of a click log that drifts from day 3), determinism, label delay with warm starts, config errors, and
the comparison preset."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from framework.config_dir import CONF_DIR
from tests.conftest import read_run, run_cli

# 6 days of 1,200 impressions, stationary until day 3; windows 0-1 train the first model (logistic
# regression: the fastest ranking model), windows 2-5 are replayed.
TINY = (
    "case=ad_click",
    "model=lr",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "dataset.n_rows=7200",
    "dataset.days=6",
    "dataset.drift_from_day=3",
    "dataset.batch_size=256",
    "retraining.windows=6",
    "retraining.initial_windows=2",
    "retraining.train_windows=2",
    "retraining.epochs=1",
    "retraining.drift_at=3",
)


def _replay(tmp_path: Path, *args: str) -> dict:
    assert run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished"
    return record


def _alarm_windows(record: dict) -> list[int]:
    return [r["window"] for r in record["retraining"]["windows"] if r["alarm"]]


def test_never_serves_the_first_model_everywhere(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=never")
    rows, summary = record["retraining"]["windows"], record["retraining"]["summary"]
    assert [r["window"] for r in rows] == [2, 3, 4, 5]
    assert all(r["generation"] == 0 and r["nce"] == r["never/nce"] for r in rows)
    assert summary["retrains"] == 0 and summary["detection_delay"] is None and summary["false_alarms"] == 0
    assert record["metrics"]["retraining/nce_after_drift"] == pytest.approx(
        sum(r["nce"] for r in rows if r["window"] >= 3) / 3
    )
    assert Path(record["retraining"]["plot"]).is_file()


def test_scheduled_retrains_every_window_and_counts_false_alarms_before_the_drift(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=scheduled", "retraining.every=1")
    summary, events = record["retraining"]["summary"], record["retraining"]["events"]
    # A retrain after windows 2, 3, 4 (none after the last window: it would serve nothing)
    assert [e["after_window"] for e in events] == [2, 3, 4]
    assert [e["trained_on"] for e in events] == [[1, 2], [2, 3], [3, 4]]  # the newest two labelled windows
    assert [r["generation"] for r in record["retraining"]["windows"]] == [0, 1, 2, 3]
    assert summary["retrains"] == 3 and summary["false_alarms"] == 1 and summary["detection_delay"] == 0
    assert summary["train_s"] > 0 and record["metrics"]["retraining/retrains"] == 3
    assert 3 * 2000 < summary["train_samples"] < 3 * 2400  # 2 windows of 1,200 rows, ~10% held out, 1 epoch
    assert all(e["best_epoch"] == 0 for e in events)  # one epoch: it is the best one


def test_performance_retrains_exactly_when_the_window_is_worse_than_the_reference(tmp_path: Path) -> None:
    threshold = 0.005
    args = ("retraining=performance", f"retraining.threshold={threshold}", "retraining.followup=false")
    record = _replay(tmp_path, *args)
    rows = record["retraining"]["windows"]
    for r in rows:  # label_delay 0: each window is scored right after it is served, by the model that served it
        assert r["alarm"] == (r["nce"] > r["reference/nce"] * (1 + threshold)), r
    trained = [e["after_window"] for e in record["retraining"]["events"]]
    assert trained == [w for w in _alarm_windows(record) if w < 5]


def test_feature_drift_fires_at_the_planted_drift_and_not_before(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=drift", "retraining.watch=features")
    rows, summary = record["retraining"]["windows"], record["retraining"]["summary"]
    assert all(r["alarm"] == (r["psi/features"] > 0.2) for r in rows)
    # The popular ids of the large fields move on day 3: the served model's id frequencies no longer hold.
    assert summary["false_alarms"] == 0 and summary["detection_delay"] == 0


def test_after_a_change_one_retrain_then_a_follow_up_on_windows_after_it(tmp_path: Path) -> None:
    """A sudden change on day 3 (new ids, new tastes, no slow drift): feature PSI fires right after window 3;
    that retrain still learns window 2 (before the change), so the follow-up retrains on windows 3-4 as soon
    as they are labelled, and nothing fires after it."""
    change = ("dataset.change=0.9", "dataset.drift=0", "retraining=drift", "retraining.watch=features")
    record = _replay(tmp_path, *change)
    events, rows = record["retraining"]["events"], record["retraining"]["windows"]
    assert [e["after_window"] for e in events] == [3, 4]
    assert [e["trained_on"] for e in events] == [[2, 3], [3, 4]]
    assert events[0]["reason"].startswith("psi of") and events[1]["reason"].startswith("follow-up")
    assert "all follow the change at window 3" in events[1]["reason"]
    assert rows[-1]["generation"] == 2 and not rows[-1]["alarm"]
    assert record["retraining"]["summary"]["detection_delay"] == 0


@pytest.mark.slow
def test_loss_stream_detectors_run(tmp_path: Path) -> None:
    record = _replay(tmp_path / "adwin", "retraining=drift_adwin", "retraining.followup=false")
    assert record["retraining"]["strategy"] == "drift/adwin"
    assert len(record["retraining"]["events"]) == len([w for w in _alarm_windows(record) if w < 5])
    # A tiny lambda: Page-Hinkley fires on the noise of the first labelled windows (the stream is fed)
    args = ("retraining=drift_adwin", "retraining.detector=page_hinkley", "retraining.threshold=0.001")
    ph = _replay(tmp_path / "ph", *args)
    assert ph["retraining"]["strategy"] == "drift/page_hinkley" and _alarm_windows(ph)


def test_same_config_and_seed_give_the_same_numbers(tmp_path: Path) -> None:
    """Three epochs at most, the best on the hold-out kept: the selection is deterministic too."""
    args = ("retraining=scheduled", "retraining.every=2", "retraining.epochs=3", "seed=7")
    first = _replay(tmp_path / "a", *args)["retraining"]["windows"]
    second = _replay(tmp_path / "b", *args)["retraining"]["windows"]
    assert first == second


def test_warm_start_with_label_delay_trains_on_labelled_windows_only(tmp_path: Path) -> None:
    record = _replay(
        tmp_path, "retraining=scheduled", "retraining.every=1", "retraining.mode=warm_start", "retraining.label_delay=1"
    )
    events = record["retraining"]["events"]
    # After window 2 only windows <= 1 have labels: the first model's own data, so that retrain is skipped.
    assert events[0] == {
        "after_window": 2,
        "reason": "every 1",
        "skipped": "no labelled window since the last training",
    }
    assert [e["trained_on"] for e in events[1:]] == [[1, 2], [2, 3]]
    assert record["retraining"]["strategy"] == "scheduled/1 (warm)"
    assert all(math.isfinite(r["nce"]) for r in record["retraining"]["windows"])


BAD = [
    (["retraining=schedule"], "Unknown retraining 'schedule'. Did you mean 'scheduled'? Available retraining options"),
    (
        ["retraining=never", "retraining.strategy=sometimes"],
        "'retraining.strategy' must be one of 'never', 'scheduled'",
    ),
    (["retraining=never", "retraining.initial_windows=6"], "'retraining.initial_windows' (6) must be below"),
    (["retraining=never", "retraining.label_delay=-1"], "'retraining.label_delay' must be at least 0, got -1"),
    (["retraining=never", "retraining.label_delay=4"], "no label would ever arrive"),
    (["retraining=never", "retraining.windows=1000"], "retraining.windows=1000 needs at least 50,000 rows"),
    (["retraining=drift", "retraining.every=2"], "Unknown key 'retraining.every' in 'retraining'"),
    (["retraining=drift", "+retraining.every=2"], "'retraining.every' applies to strategy 'scheduled' only"),
    (["retraining=performance", "retraining.threshold=-0.1"], "'retraining.threshold' must be positive"),
    (["retraining=drift", "retraining.watch=null"], "needs 'retraining.watch': features, predictions or both"),
    (["retraining=never", "retraining.drift_at=1"], "'retraining.drift_at' (1) must name a replayed window"),
    (["retraining=never", "retraining.mode=online"], "'retraining.mode' must be one of 'from_scratch', 'warm_start'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_retraining_config_exits_2_before_training(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    code = run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert message in err
    assert not (tmp_path / "plots").exists()  # stopped before any training


def test_retraining_on_another_kind_of_case_is_an_error(tmp_path: Path, capsys) -> None:
    code = run_cli("case=event_recommendation", "retraining=never", "logger=none", f"hydra.run.dir={tmp_path}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "'retraining' applies to ctr, two_stage cases only" in err and "'learning_to_rank' task" in err


@pytest.mark.parametrize(
    "strategy", ["never", "scheduled", "performance", "drift", "drift_adwin", "drift_page_hinkley"]
)
def test_the_preset_composes_and_validates_for_every_strategy(strategy: str) -> None:
    from framework.validation import validate

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=["experiment=ad_click_retraining", f"retraining={strategy}"])
    validate(cfg)
    assert cfg.retraining.strategy == strategy.split("_")[0]
    assert cfg.retraining.windows == cfg.dataset.days == 14 and cfg.retraining.drift_at == cfg.dataset.drift_from_day


def test_a_normal_run_has_no_retraining_node() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=["case=ad_click"])
    assert cfg.get("retraining") is None  # the ctr recipe trains and tests as it always did


@pytest.mark.parametrize(
    ("dataset", "relative", "rows"),
    [
        ("criteo", "criteo-display-advertising-challenge/dac_train_first1999.txt", 1999),
        ("avazu", "avazu-ctr/train_first499.csv", 499),
    ],
)
def test_a_real_log_replays_in_file_order(dataset: str, relative: str, rows: int, tmp_path: Path) -> None:
    """Criteo's and Avazu's files are in time order: their rows are the windows, in order."""
    from tests.conftest import shared_file

    path = shared_file(relative)
    args = ["case=ad_click", "model=lr", "logger=none", "trainer.enable_progress_bar=false", f"dataset={dataset}"]
    args += [f"dataset.path={path}", "retraining=scheduled", "retraining.every=1", "retraining.windows=4"]
    args += ["retraining.initial_windows=2", "retraining.train_windows=2", "retraining.epochs=1"]
    assert run_cli(*args, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    windows = record["retraining"]["windows"]
    assert record["status"] == "finished" and record["data"]["rows"] == {"log": rows, "windows": 4}
    assert [w["window"] for w in windows] == [2, 3] and [w["generation"] for w in windows] == [0, 1]
    assert all(math.isfinite(w["nce"]) and 0 < w["auroc"] < 1 for w in windows)
    assert [e["trained_on"] for e in record["retraining"]["events"]] == [[1, 2]]
