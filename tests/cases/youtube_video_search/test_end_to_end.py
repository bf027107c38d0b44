"""Video search end to end: tiny runs of both video encoders record every channel (visual, text, fused) and
the served one; MSR-VTT captions train with synthesised features (said in the run); bad input stops first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST, read_run, run_cli, shared_file

TINY = ("case=youtube_video_search", *FAST, "dataset.n_videos=200", "dataset.batch_size=32")
SUITE = ("recall@1", "recall@5", "recall@10", "median_rank", "mrr@10", "ndcg@10")


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["temporal", "mean"])
def test_tiny_run_records_every_channel(tmp_path: Path, pooling: str) -> None:
    assert run_cli(*TINY, f"model.pooling={pooling}", "search.fusion=weighted", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/ndcg@10" and record["status"] == "finished"
    metrics = record["metrics"]
    for channel in ("visual", "text", "fused", "search"):
        for name in SUITE:
            assert f"test/{channel}/{name}" in metrics, (channel, name)
    assert metrics["test/search/ndcg@10"] == metrics["test/fused/ndcg@10"]
    assert metrics["test/visual/ndcg@10"] == pytest.approx(metrics["test/ndcg@10"], abs=1e-5)
    assert record["search"]["fusion"] == "weighted" and record["serving"]["p50_ms"] > 0
    # the time-order probe: a bag of frames ties every video with itself played backwards
    assert record["search"]["time_order_pairs"] > 0
    if pooling == "mean":
        assert metrics["test/visual/time_order"] == 0.5
    else:
        assert 0.0 <= metrics["test/visual/time_order"] <= 1.0


@pytest.mark.slow
def test_msrvtt_captions_train_with_synthesised_features(tmp_path: Path) -> None:
    path = shared_file("msrvtt/MSRVTT_JSFUSION_test.csv")
    args = ("case=youtube_video_search", *FAST, "dataset=msrvtt", f"dataset.path={path}", "dataset.batch_size=32")
    assert run_cli(*args, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["data"]["items_read"] == 1000
    assert "synthesised" in record["search"]["video_features"]
    assert record["search"]["text_documents"] == "other captions"


def test_captions_of_unknown_videos_stop_before_training(tmp_path: Path, capsys) -> None:
    (tmp_path / "captions.csv").write_text("video_id,sentence\nvideo1,a man cooks\nvideo7,a dog runs\n")
    (tmp_path / "videos.csv").write_text("video_id\nvideo1\n")
    args = (
        "dataset=msrvtt",
        f"dataset.path={tmp_path / 'captions.csv'}",
        f"dataset.videos_file={tmp_path / 'videos.csv'}",
    )
    assert run_cli("case=youtube_video_search", *FAST, *args, f"hydra.run.dir={tmp_path / 'run'}") == 2
    err = capsys.readouterr().err
    assert "video7" in err and "line 3" in err


def test_bad_search_settings_are_config_errors(tmp_path: Path, capsys) -> None:
    args = ("search.fusion=max", "search.weights=[1.0]", "search.bm25_b=2")
    assert run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert "search.fusion" in err and "two weights" in err and "bm25_b" in err
