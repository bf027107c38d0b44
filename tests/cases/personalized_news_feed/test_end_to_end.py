"""Personalized news feed end to end: a tiny run's record, reproducibility, task subsets, the MIND
fixture, and the clear stops before training (weights, eval suites, data)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FAST, read_run, run_cli, shared_file

FEED = ("case=personalized_news_feed", *FAST)
TASKS = ("click", "like", "comment", "share", "hide")
MIND = "mind-small-sample/MINDsmall_train"


def _quality(record: dict) -> dict:
    return {k: v for k, v in record["metrics"].items() if k.startswith(("val/", "test/"))}


def test_tiny_run_records_every_head_the_weights_and_the_feed_metrics(tmp_path: Path) -> None:
    assert run_cli(*FEED, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/ndcg@10"
    assert record["heads"] == {**dict.fromkeys(TASKS, "binary"), "dwell": "regression"}
    assert record["engagement_weights"]["hide"] < 0 < record["engagement_weights"]["share"]
    metrics = record["metrics"]
    for task in TASKS:
        assert 0.0 < metrics[f"test/{task}_auroc"] < 1.0 and 0.0 < metrics[f"test/{task}_pr_auc"] <= 1.0
    assert metrics["test/dwell_mae"] > 0 and 0.0 < metrics["test/ndcg@10"] <= 1.0
    assert 0.0 <= metrics["test/hide@10"] <= 1.0
    data = record["data"]
    assert data["split_strategy"] == "time" and data["train_requests"] > data["test_requests"] > 0
    assert data["tasks"]["train"]["dwell"]["observed"] < data["train_rows"]  # dwell: clicked posts only
    assert 0 <= data["requests_without_engagement"]["test"] < data["test_requests"]
    assert record["serving"]["budget_ms"] == 200 and record["serving"]["candidates_per_request"] == 500


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(*FEED, "model=ple", "seed=3", f"hydra.run.dir={tmp_path / name}") == 0
    assert _quality(read_run(tmp_path / "a")) == _quality(read_run(tmp_path / "b"))


def test_a_subset_of_tasks_trains_those_heads_only(tmp_path: Path, capsys) -> None:
    assert run_cli(*FEED, "multi_task.tasks=[click,hide]", f"hydra.run.dir={tmp_path}") == 0
    assert "multi_task.tasks leaves out the tasks of mean_auroc" in capsys.readouterr().err
    record = read_run(tmp_path)
    assert list(record["heads"]) == ["click", "hide"] and record["data"]["trained_tasks"] == ["click", "hide"]
    assert set(record["data"]["weights_skipped"]) == {"like", "comment", "share", "dwell"}
    assert "test/hide_auroc" in record["metrics"] and "test/like_auroc" not in record["metrics"]


def test_misspelt_weights_and_silent_feeds_stop_before_training(tmp_path: Path, capsys) -> None:
    assert run_cli(*FEED, "+multi_task.task_weights.clik=2", f"hydra.run.dir={tmp_path / 'a'}") == 2
    assert "multi_task.task_weights names 'clik', which is not a task of the data. Did you mean 'click'?" in (
        capsys.readouterr().err
    )
    zero = "multi_task.engagement_weights={click:0,like:0,comment:0,share:0,hide:0}"
    assert run_cli(*FEED, zero, f"hydra.run.dir={tmp_path / 'b'}") == 2
    assert "the engagement score would not order the feed" in capsys.readouterr().err
    assert run_cli(*FEED, "multi_task.task_weights.like=-1", f"hydra.run.dir={tmp_path / 'c'}") == 2
    assert "'multi_task.task_weights.like' must not be negative" in capsys.readouterr().err
    assert run_cli(*FEED, "multi_task.tasks=[click]", "eval.monitor=hide_auroc", f"hydra.run.dir={tmp_path / 'd'}") == 2
    assert "the monitored metric 'hide_auroc' reads task 'hide', which multi_task.tasks leaves out" in (
        capsys.readouterr().err.replace("\n", " ")
    )
    for name in "abcd":
        assert not (tmp_path / name / "checkpoints").exists()


def test_mind_fixture_trains_with_its_own_suite_and_the_feed_suite_is_refused(tmp_path: Path, capsys) -> None:
    behaviors, news = shared_file(f"{MIND}/behaviors.tsv"), shared_file(f"{MIND}/news.tsv")
    mind = ("dataset=mind", f"dataset.path={behaviors}", f"dataset.news_path={news}", "dataset.max_rows=1500")
    assert run_cli(*FEED, *mind, "eval=feed", f"hydra.run.dir={tmp_path / 'feed'}") == 2
    err = capsys.readouterr().err
    assert "eval metric 'hide@10' reads task 'hide', which dataset 'mind' does not have" in err and "eval=mind" in err
    assert run_cli(*FEED, *mind, "eval=mind", f"hydra.run.dir={tmp_path / 'mind'}") == 0
    assert "the weights of comment, dwell, hide, like, share are unused" in capsys.readouterr().err
    record = read_run(tmp_path / "mind")
    assert record["heads"] == {"click": "binary"}
    for name in ("auc", "mrr", "ndcg@5", "ndcg@10", "click_auroc"):
        assert 0.0 < record["metrics"][f"test/{name}"] <= 1.0, name
    assert record["data"]["source_info"]["impressions"] == 1500


def test_a_malformed_mind_file_names_its_line_and_stops_before_training(tmp_path: Path, capsys) -> None:
    path = tmp_path / "behaviors.tsv"
    good = "1\tU1\t11/11/2019 9:05:58 AM\tN1 N2\tN3-1 N4-0\n"
    path.write_text(good + "2\tU2\t11/11/2019 9:06:58 AM\tN1\tN3-1 N4-2\n")
    assert run_cli(*FEED, "dataset=mind", f"dataset.path={path}", "eval=mind", f"hydra.run.dir={tmp_path / 'r'}") == 2
    err = capsys.readouterr().err
    assert "behaviors.tsv" in err and "line 2" in err
    assert not (tmp_path / "r" / "checkpoints").exists()
