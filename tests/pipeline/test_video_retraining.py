"""`python run.py case=video_recommendation retraining=<strategy>`: the video case's stage 1 retrained and its
index refreshed on a tiny replay (six daily windows of a watch log with new videos and a trend from day 3),
decisions, determinism, the generator's drift, config errors, the preset and the multirun comparison."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from framework.config_dir import CONF_DIR
from framework.data.synthetic.watch_log import START, TOPICS, generate
from tests.conftest import read_run, run_cli

# 6 days of ~400 users watching ~20 videos of 300; on day 3, 60 new videos and a trend. Windows 0-1 train
# the first model (a small two-tower, one epoch), windows 2-5 are replayed. Stage 2 is not in the loop.
DATA = (
    "dataset.n_users=400",
    "dataset.n_items=300",
    "dataset.interactions_per_user=20",
    "dataset.days=6",
    "dataset.signup_share=0.0",
    "dataset.batch_size=256",
    "model.embedding_dim=16",
    "model.hidden_units=[32]",
)
DRIFT = ("dataset.drift_from_day=3", "dataset.new_items=60", "dataset.trend=0.3", "retraining.drift_at=3")
REPLAY = (
    "retraining.windows=6",
    "retraining.initial_windows=2",
    "retraining.train_windows=2",
    "retraining.epochs=1",
)
TINY = ("case=video_recommendation", "ranker=none", "logger=none", "trainer.enable_progress_bar=false", *DATA, *REPLAY)


def _replay(tmp_path: Path, *args: str, drift: bool = True) -> dict:
    assert run_cli(*TINY, *(DRIFT if drift else ()), *args, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished"
    return record


def _alarms(record: dict) -> list[int]:
    return [r["window"] for r in record["retraining"]["windows"] if r["alarm"]]


def test_never_serves_the_first_model_and_its_index_and_loses_recall_after_the_drift(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=never")
    rows, summary = record["retraining"]["windows"], record["retraining"]["summary"]
    assert [r["window"] for r in rows] == [2, 3, 4, 5]
    assert all(r["generation"] == 0 and r["recall"] == r["never/recall"] for r in rows)
    assert summary["retrains"] == 0 and summary["false_alarms"] == 0 and summary["k"] == 100
    # The first index holds the 300 old videos only: from day 3 a share of what users watch is out of reach
    assert record["retraining"]["initial"]["catalogue"] == 300
    assert [r["unindexed"] > 0 for r in rows] == [False, True, True, True]
    assert summary["recall_after_drift"] < summary["recall_before_drift"]
    assert record["metrics"]["retraining/recall_after_drift"] == pytest.approx(
        sum(r["recall"] for r in rows if r["window"] >= 3) / 3
    )
    assert "retraining/ndcg@10_after_drift" in record["metrics"]  # the eval suite's monitored metric
    assert record["objective"]["value"] == pytest.approx(summary["ndcg@10_mean"])
    assert Path(record["retraining"]["plot"]).is_file()


def test_scheduled_retrains_every_window_and_refreshes_the_index(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=scheduled", "retraining.every=1")
    rows, events = record["retraining"]["windows"], record["retraining"]["events"]
    assert [e["after_window"] for e in events] == [2, 3, 4]  # none after the last window: it would serve nothing
    assert [e["trained_on"] for e in events] == [[1, 2], [2, 3], [3, 4]]  # the newest two labelled windows
    assert [r["generation"] for r in rows] == [0, 1, 2, 3]
    # A model trained through day 3 indexes the videos released that day; the one before does not
    assert [e["catalogue"] for e in events] == [300, 360, 360]
    assert [r["unindexed"] == 0 for r in rows] == [True, False, True, True]
    summary = record["retraining"]["summary"]
    assert summary["retrains"] == 3 and summary["false_alarms"] == 1 and summary["detection_delay"] == 0
    assert summary["train_s"] > 0 and summary["train_samples"] > 0
    assert summary["recall_after_drift"] > summary["never_recall_after_drift"]  # the refresh recovers recall


def test_recall_drop_fires_on_the_planted_drift_and_follows_up(tmp_path: Path) -> None:
    threshold = 0.2
    record = _replay(tmp_path, "retraining=recall_drop", f"retraining.threshold={threshold}")
    rows, summary = record["retraining"]["windows"], record["retraining"]["summary"]
    assert record["retraining"]["strategy"] == "performance/recall"
    for r in rows:  # label_delay 0: each window is scored by the model that served it, against its first window
        worse = "reference/recall" in r and r["recall"] < r["reference/recall"] * (1 - threshold)
        assert r["alarm"] == worse, r
    assert _alarms(record) == [3] and summary["detection_delay"] == 0 and summary["false_alarms"] == 0
    # The alarm's retrain learns from windows 2-3; the follow-up once both its windows follow the change
    events = record["retraining"]["events"]
    assert [(e["after_window"], e["trained_on"]) for e in events] == [(3, [2, 3]), (4, [3, 4])]
    assert events[1]["reason"].startswith("follow-up")


def test_recall_drop_stays_quiet_without_a_drift(tmp_path: Path) -> None:
    record = _replay(tmp_path, "retraining=recall_drop", "retraining.threshold=0.2", drift=False)
    assert _alarms(record) == [] and record["retraining"]["events"] == []
    assert all(r["unindexed"] == 0 for r in record["retraining"]["windows"])


def test_label_delay_scores_windows_late_and_trains_on_labelled_windows_only(tmp_path: Path) -> None:
    args = ("retraining=scheduled", "retraining.every=1", "retraining.label_delay=1", "retraining.mode=warm_start")
    record = _replay(tmp_path, *args)
    events = record["retraining"]["events"]
    assert events[0]["skipped"] == "no labelled window since the last training"  # after window 2: only 0-1 known
    assert [e["trained_on"] for e in events[1:]] == [[1, 2], [2, 3]]
    assert record["retraining"]["strategy"] == "scheduled/1 (warm)"


def test_same_config_and_seed_give_the_same_numbers(tmp_path: Path) -> None:
    args = ("retraining=scheduled", "retraining.every=2", "retraining.epochs=2", "seed=7")
    first = _replay(tmp_path / "a", *args)["retraining"]
    second = _replay(tmp_path / "b", *args)["retraining"]
    assert first["windows"] == second["windows"] and first["summary"]["retrains"] == 1
    assert [e["catalogue"] for e in first["events"]] == [e["catalogue"] for e in second["events"]]


# -- the generator's drift ------------------------------------------------------------------------------
def _digest(**kwargs) -> str:
    table = generate(**kwargs)
    h = hashlib.sha256()
    for frame in (table.interactions, table.users, table.items):
        h.update(frame.write_csv().encode())
    return h.hexdigest()[:16]


def test_the_log_without_drift_is_what_it_was() -> None:
    """Hashes of the generator's output before the drift parameters existed (benchmarks depend on it)."""
    assert _digest(n_users=500, n_items=300, days=10, seed=3) == "dfa8f7292758776e"
    assert _digest(max_rows=5000, seed=1) == "610277a36f74010a"


def test_new_videos_exist_from_the_drift_day_only() -> None:
    table = generate(n_users=400, n_items=300, interactions_per_user=20, days=6, drift_from_day=3, new_items=60)
    items = table.items
    assert items.height == 360 and "released_at" in items.columns
    released = dict(zip(items["item"].to_list(), items["released_at"].to_list(), strict=True))
    assert {released[i] for i in range(301, 361)} == {START + 3 * 86_400} and released[1] == START
    views = table.interactions.with_columns(pl.col("item").replace_strict(released).alias("released"))
    assert (views["timestamp"] >= views["released"]).all()  # no view before a video exists
    after = views.filter(pl.col("timestamp") >= START + 3 * 86_400)
    share = float((after["item"] > 300).mean())
    assert 0.1 < share < 0.6  # users take to the new videos, without leaving the old ones
    assert set(items.filter(pl.col("item") > 300)["creator"]).isdisjoint(items.filter(pl.col("item") <= 300)["creator"])
    assert "released_at" not in generate(n_users=50, n_items=40, days=6).items.columns


def test_the_trend_moves_tastes_toward_one_topic() -> None:
    base = dict(n_users=400, n_items=300, interactions_per_user=20, days=6, drift_from_day=3, new_items=0, seed=2)

    def topic_shares(trend: float) -> np.ndarray:
        t = generate(**base, trend=trend)
        after = t.interactions.filter(pl.col("timestamp") >= START + 3 * 86_400).join(t.items, on="item")
        return after.select(TOPICS).mean().to_numpy()[0]

    ratio = np.sort(topic_shares(1.0) / topic_shares(0.0))
    assert ratio[-1] > 2 and ratio[-1] > 1.5 * ratio[-2]  # one trending topic gains most, the others a little


@pytest.mark.parametrize(
    "kwargs",
    [dict(new_items=10), dict(drift_from_day=0), dict(drift_from_day=6), dict(signup_share=1.0)],
    ids=str,
)
def test_bad_drift_parameters_are_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(n_users=50, n_items=40, days=6, **kwargs)


# -- config errors ------------------------------------------------------------------------------------------
BAD = [
    (["retraining=drift"], "Strategy 'drift' does not apply to a two_stage case (video_recommendation)"),
    (["retraining=drift_adwin"], "its replay has strategies never, scheduled, performance"),
    (["retraining=performance"], "'retraining.metric' nce applies to ctr cases; a two_stage case"),
    (["retraining=recall_drop", "retraining.metric=auroc"], "Set retraining.metric=recall"),
    (["retraining=recall_drop", "+retraining.every=2"], "'retraining.every' applies to strategy 'scheduled' only"),
    (["retraining=never", "retraining.drift_at=1"], "'retraining.drift_at' (1) must name a replayed window"),
    (["retraining=never", "retraining.windows=200"], "leaves a window of dataset 'watch_log_synthetic' with"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_video_retraining_config_exits_2_before_training(args: list[str], message: str, tmp_path: Path, capsys):
    code = run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert message in err
    assert not (tmp_path / "plots").exists()  # stopped before any training


def test_the_recall_metric_on_a_click_log_is_an_error(tmp_path: Path, capsys) -> None:
    code = run_cli("case=ad_click", "logger=none", "retraining=recall_drop", f"hydra.run.dir={tmp_path}")
    assert code == 2
    assert "'retraining.metric' recall applies to two_stage cases; a ctr case (ad_click)" in " ".join(
        capsys.readouterr().err.split()
    )


# -- the preset and its comparison ------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["never", "scheduled", "recall_drop"])
def test_the_preset_composes_and_validates(strategy: str) -> None:
    from framework.validation import validate

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=["experiment=video_retraining", f"retraining={strategy}"])
    validate(cfg)
    assert cfg.retraining.windows == cfg.dataset.days == 14 and cfg.retraining.drift_at == cfg.dataset.drift_from_day
    assert cfg.get("ranker") is None and cfg.case.task == "two_stage"


@pytest.mark.slow
def test_a_video_multirun_compares_strategies(tmp_path: Path) -> None:
    """The preset's multirun on the tiny log (two strategies x two seeds), then the report over it."""
    from framework.monitoring.report import compare

    args = ("experiment=video_retraining", *DATA, *REPLAY, "dataset.days=6", "dataset.drift_from_day=3")
    args += ("dataset.new_items=60", "logger=none", "trainer.enable_progress_bar=false")
    assert run_cli(*args, "retraining=never,recall_drop", "seed=1,2", f"hydra.sweep.dir={tmp_path}") == 0
    assert len(list(tmp_path.glob("*/run.json"))) == 4
    text = compare(tmp_path)
    lines = text.splitlines()
    assert lines[0].startswith("| strategy | seeds | recall@K after drift | ndcg@10 after drift | recall@K before")
    assert lines[2].startswith("| never | 2 |") and lines[3].startswith("| performance/recall | 2 |")
    assert "never retrain, same first models (every run's reference line): recall@K after drift" in text
    assert (tmp_path / "plots" / "retraining.png").is_file() and (tmp_path / "retraining_report.md").is_file()


def test_after_decision_holds_an_alarm_while_a_follow_up_is_due() -> None:
    """The step both replays take after `decide`: an alarm about window 7 retrains (trained 5-7), a second
    alarm before the follow-up is held, the follow-up comes once the newest 3 windows follow the change."""
    from omegaconf import OmegaConf

    from framework.monitoring.strategies import Decision, after_decision

    cfg = OmegaConf.create({"followup": True, "train_windows": 3})
    alarm = Decision(True, "recall", since=7)
    retrain, changed, held = after_decision(cfg, alarm, None, (0, 3), 8)
    assert retrain is alarm and changed == 7 and not held
    retrain, changed, held = after_decision(cfg, Decision(True, "recall", since=8), 7, (5, 8), 9)
    assert not retrain.retrain and changed == 7 and held
    retrain, changed, held = after_decision(cfg, Decision(False), 7, (5, 8), 10)
    assert retrain.retrain and retrain.reason.startswith("follow-up") and not held
    retrain, changed, held = after_decision(cfg, Decision(True, "recall", since=11), 7, (7, 10), 12)
    assert retrain.retrain and changed == 11 and not held  # a new change after the follow-up
