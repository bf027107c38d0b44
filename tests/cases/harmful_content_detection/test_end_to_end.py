"""Harmful content detection end to end: tiny runs of the networks and the TF-IDF baseline, each imbalance
method, the Jigsaw and Davidson fixtures and small files written here, and bad input stopping before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST, read_run, run_cli, shared_file

HARM = ("case=harmful_content_detection", *FAST, "dataset.n_posts=6000")
CLASSES = ("violence", "nudity", "hate", "misinformation", "spam")


@pytest.mark.slow
def test_tiny_multimodal_run_records_the_suite_the_queue_and_the_latency(tmp_path: Path) -> None:
    assert run_cli(*HARM, "dataset.max_rows=null", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/mean_pr_auc"
    for c in CLASSES:
        for name in ("pr_auc", "roc_auc", "recall@p80", "prevalence_ratio"):
            assert f"test/{c}_{name}" in record["metrics"], (c, name)
        assert 0 < record["data"]["prevalence"]["train"][c] < 0.05
        assert min(record["data"]["positives"][p][c] for p in ("train", "valid", "test")) >= 1  # stratified
    queue = record["review_queue"]
    assert queue["target_precision"] == 0.8 and set(queue["per_class"]) == set(CLASSES)
    assert 0 <= queue["queue_posts_per_hour"] <= queue["posts_scored_per_hour"]
    assert record["serving"]["budget_ms"] == 50 and record["serving"]["p99_ms"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("imbalance", ["class_weight", "focal", "downsample"])
def test_each_imbalance_method_trains(imbalance: str, tmp_path: Path) -> None:
    assert run_cli(*HARM, f"multi_label.imbalance={imbalance}", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["imbalance"] == imbalance and record["metrics"]["test/mean_roc_auc"] > 0
    rates = record["data"]["kept_negative_rate"]
    if imbalance == "downsample":
        assert record["data"]["downsampling"]["train_rows_kept"] < record["data"]["downsampling"]["train_rows"]
        assert all(0.05 < r < 1 for r in rates.values())
    else:
        assert set(rates.values()) == {1.0}


@pytest.mark.slow
def test_fusion_and_per_class_variants_build_and_train(tmp_path: Path) -> None:
    args = ("model.fusion=late", "model.per_class=true", "model.hidden_units=[8]", "model.embedding_dim=8")
    assert run_cli(*HARM, *args, f"hydra.run.dir={tmp_path}") == 0
    assert read_run(tmp_path)["config"]["model"]["fusion"] == "late"


def test_tfidf_baseline_with_downsampling_is_recalibrated(tmp_path: Path) -> None:
    assert run_cli(*HARM, "model=tfidf_lr", "multi_label.imbalance=downsample", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["trained"] is True and record["parameters"] > 0 and "fit" in record["timings"]
    assert 0.5 < record["metrics"]["test/spam_roc_auc"] <= 1.0


def test_focal_loss_with_the_sklearn_baseline_is_a_config_error(tmp_path: Path, capsys) -> None:
    assert run_cli(*HARM, "model=tfidf_lr", "multi_label.imbalance=focal", f"hydra.run.dir={tmp_path}") == 2
    assert "focal is a loss for networks" in capsys.readouterr().err


def test_a_metric_of_a_class_the_data_lacks_stops_before_training(tmp_path: Path, capsys) -> None:
    assert run_cli(*HARM, "eval=jigsaw", f"hydra.run.dir={tmp_path}") == 2
    assert "reads class 'toxic', which dataset 'posts_synthetic' does not have" in capsys.readouterr().err
    assert not (tmp_path / "checkpoints").exists()


# --- real formats -------------------------------------------------------------------------------------------


def _jigsaw(path: Path, rows: list[str]) -> Path:
    header = '"id","comment_text","toxic","severe_toxic","obscene","threat","insult","identity_hate"\n'
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def test_jigsaw_reader_counts_physical_lines_of_quoted_multiline_comments(tmp_path: Path) -> None:
    from framework.data.formats.harmful_text import read_jigsaw

    path = _jigsaw(
        tmp_path / "train.csv",
        ['"a","one\ntwo ""quoted""\nthree",1,0,1,0,0,0\n', '"b","plain",0,0,0,0,0,0\n'],
    )
    table = read_jigsaw(str(path))
    assert table.frame["line"].to_list() == [2, 5]
    assert table.frame["text"][0] == 'one\ntwo "quoted"\nthree'
    assert table.frame["toxic"].to_list() == [1, 0] and table.frame["obscene"].to_list() == [1, 0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (['"a","fine",0,0,0,0,0,0\n', '"b","never closed,1,0,0,0,0,0\n'], "line 3"),  # unterminated quote
        (['"a","two\nlines",0,0,0,0,0,0\n', '"b","x",2,0,0,0,0,0\n'], "line 4: toxic must be one of [0, 1]"),
        (['"a","x",0,0,0,0,0\n'], "line 2: 7 field(s)"),
    ],
)
def test_bad_jigsaw_file_stops_with_file_and_line(rows: list[str], message: str, tmp_path: Path, capsys) -> None:
    path = _jigsaw(tmp_path / "train.csv", rows)
    args = ("dataset=jigsaw", "eval=jigsaw", f"dataset.path={path}")
    assert run_cli(*FAST, "case=harmful_content_detection", *args, f"hydra.run.dir={tmp_path / 'run'}") == 2
    err = capsys.readouterr().err
    assert "train.csv" in err and message in err, err


def test_jigsaw_fixture_trains_and_a_class_without_positives_in_a_split_is_named(tmp_path: Path, capsys) -> None:
    train = shared_file("jigsaw-toxic-comment/train.csv")
    base = ("case=harmful_content_detection", *FAST, "dataset=jigsaw", "eval=jigsaw", f"dataset.path={train}")
    # threat has 2 positives in the fixture's 267 comments: it cannot have one in each split
    assert run_cli(*base, "model=tfidf_lr", f"hydra.run.dir={tmp_path / 'a'}") == 2
    err = capsys.readouterr().err
    assert "class 'threat' has no positive in the" in err and "multi_label.classes" in err
    keep = "multi_label.classes=[toxic,severe_toxic,obscene,insult,identity_hate]"
    assert run_cli(*base, "model=tfidf_lr", keep, f"hydra.run.dir={tmp_path / 'b'}") == 0
    assert "threat_pr_auc" in capsys.readouterr().err  # the left-out class's metrics are skipped, and named
    record = read_run(tmp_path / "b")
    assert record["data"]["rows_read"] == 267 and record["classes"] == [
        "toxic",
        "severe_toxic",
        "obscene",
        "insult",
        "identity_hate",
    ]
    assert 0 < record["metrics"]["test/toxic_roc_auc"] <= 1


def test_davidson_fixture_reads_every_tweet_with_its_line() -> None:
    from framework.data.formats.harmful_text import read_davidson

    table = read_davidson(str(shared_file("davidson-hate-speech/labeled_data.csv")))
    assert table.frame.height == 24_783 and table.exclusive
    assert table.info["class_counts"] == {"hate_speech": 1430, "offensive_language": 19190, "neither": 4163}
    assert table.frame["line"][-1] == 26_954  # quoted newlines: more physical lines than records


def test_davidson_file_written_here_runs_with_the_paper_metrics(tmp_path: Path) -> None:
    lines = [",count,hate_speech,offensive_language,neither,class,tweet"]
    words = {0: "hateword slur", 1: "rude curse", 2: "nice day"}
    for i in range(300):
        c = 1 if i % 10 < 6 else (0 if i % 10 < 8 else 2)
        votes = [3 if j == c else 0 for j in range(3)]
        lines.append(f'{i},3,{votes[0]},{votes[1]},{votes[2]},{c},"tweet {i} {words[c]}\nsecond line"')
    path = tmp_path / "labeled_data.csv"
    path.write_text("\n".join(lines) + "\n")
    args = (
        "dataset=davidson",
        "eval=davidson",
        f"dataset.path={path}",
        "model=tfidf_lr",
        "multi_label.benign=[neither]",
    )
    assert run_cli("case=harmful_content_detection", *FAST, *args, f"hydra.run.dir={tmp_path / 'run'}") == 0
    record = read_run(tmp_path / "run")
    queue = record["review_queue"]  # neither is benign: only hate and offensive tweets are queued
    assert queue["flagged_share"] == pytest.approx(0.8, abs=0.1) and queue["per_class"]["neither"]["posts_per_hour"] > 0
    m = record["metrics"]
    assert m["test/weighted_f1"] > 0.9 and m["test/hate_f1"] > 0.9  # the words give the class away


def test_davidson_class_outside_its_range_names_the_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "labeled_data.csv"
    path.write_text(',count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,3,0,1,"a\nb"\n1,3,0,0,3,5,"c"\n')
    args = ("dataset=davidson", "eval=davidson", f"dataset.path={path}")
    assert run_cli("case=harmful_content_detection", *FAST, *args, f"hydra.run.dir={tmp_path / 'run'}") == 2
    err = capsys.readouterr().err
    assert "labeled_data.csv, line 4: class must be one of [0, 1, 2]" in err


def test_class_without_a_positive_in_a_split_stops_before_training(tmp_path: Path, capsys) -> None:
    def row(i: int) -> str:
        labels = [i % 5 == 0, i % 6 == 0, i % 4 == 0, i == 7, i % 3 == 0, i % 7 == 1]
        return f'"{i}","comment {i}",' + ",".join(str(int(v)) for v in labels) + "\n"

    rows = [row(i) for i in range(60)]
    path = _jigsaw(tmp_path / "train.csv", rows)  # threat: one positive in 60 comments
    args = ("dataset=jigsaw", "eval=jigsaw", f"dataset.path={path}", "model=tfidf_lr")
    assert run_cli("case=harmful_content_detection", *FAST, *args, f"hydra.run.dir={tmp_path / 'run'}") == 2
    err = capsys.readouterr().err
    assert "class 'threat' has no positive in the" in err and "(1 positive(s) in all 60 rows)" in err
