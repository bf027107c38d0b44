"""Visual search end to end: a tiny run of every model and loss records the suite, near-duplicate and
same-item search, the index's recall and the serving figures; bad settings and bad images stop before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST, read_run, run_cli

TINY = ("case=visual_search", *FAST, "dataset.n_classes=6", "dataset.items_per_class=6", "dataset.batch_size=32")
SUITE = ("precision@1", "map@r", "recall@10", "mrr@10", "ndcg@10")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ("contrastive.loss=supcon",),
        ("contrastive.loss=nt_xent",),
        ("contrastive.loss=triplet", "contrastive.mining=semi_hard"),
        ("contrastive.loss=classifier", "index=ivf"),
        ("model=pca", "model.dim=8", "index=flat"),
        ("model=raw_pixels", "index=exact", "copy_detection=tiny_image_views_ivf"),
    ],
    ids=["supcon", "nt_xent", "triplet", "classifier", "pca", "raw_pixels"],
)
def test_tiny_run_of_every_encoder_records_the_suite(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/map@r" and record["status"] == "finished"
    metrics = record["metrics"]
    for name in SUITE:
        assert 0.0 <= metrics[f"test/{name}"] <= 1.0, name
        assert f"test/same_item/{name}" in metrics
    assert 0.0 <= metrics["test/near_duplicate/recall@1"] <= metrics["test/near_duplicate/recall@10"] <= 1.0
    assert 0.0 <= metrics["test/near_duplicate/micro_ap"] <= metrics["test/near_duplicate/recall@1"]
    assert 0.0 <= metrics["test/near_duplicate/encoder/recall@1"] <= 1.0
    assert record["search"]["near_duplicate"]["views_per_image"] == 100  # the case's 4 x 4 sizes and places
    assert record["serving"]["near_duplicate"]["p50_ms"] > 0
    views_index = record["search"]["near_duplicate"]["views_index"]
    assert (views_index is not None) is ("copy_detection=tiny_image_views_ivf" in args)
    assert 0.0 < metrics["index/recall@10"] <= 1.0
    assert record["serving"]["p50_ms"] > 0 and record["serving"]["indexing_images_per_s"] > 0
    assert record["trained"] is (not any(a.startswith("model=") for a in args))


@pytest.mark.slow
def test_digits_run_and_a_video_model_on_images_is_refused(tmp_path: Path, capsys) -> None:
    assert run_cli("case=visual_search", *FAST, "dataset=digits", "model=pca", f"hydra.run.dir={tmp_path / 'a'}") == 0
    assert read_run(tmp_path / "a")["feature_spec"]["in_channels"] == 1
    assert run_cli(*TINY, "model=dual_encoder", f"hydra.run.dir={tmp_path / 'b'}") == 2
    assert "encodes videos" in capsys.readouterr().err


def test_bad_settings_are_config_errors(tmp_path: Path, capsys) -> None:
    args = ("contrastive.loss=softmax", "contrastive.temperature=0", "contrastive.augment.crop_scale=[0.0,1.0]")
    assert run_cli(*TINY, *args, f"hydra.run.dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert "contrastive.loss" in err and "temperature" in err and "crop_scale" in err
    assert run_cli(*TINY, "+contrastive.augment.flipp=0.5", f"hydra.run.dir={tmp_path}") == 2
    assert "flipp" in capsys.readouterr().err
    bad_copy = ("copy_detection.descriptor=sift", "copy_detection.view_sizes=[1.0,1.5]", "copy_detection.tiny_size=0")
    assert run_cli(*TINY, *bad_copy, f"hydra.run.dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert "copy_detection.descriptor" in err and "view_sizes" in err and "tiny_size" in err
    ann = "copy_detection=tiny_image_views_ivf"
    assert run_cli(*TINY, ann, "copy_detection.candidates=0", f"hydra.run.dir={tmp_path}") == 2
    assert "copy_detection.candidates" in capsys.readouterr().err
    assert run_cli(*TINY, ann, "+copy_detection.index.nlistt=8", f"hydra.run.dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert "copy_detection.index" in err and "nlistt" in err
    assert run_cli(*TINY, "+contrastive.reversal_weight=1.0", f"hydra.run.dir={tmp_path}") == 2
    assert "reversal_weight" in capsys.readouterr().err  # a loss on (caption, video) pairs, not on images


def test_copy_detection_belongs_to_contrastive_retrieval(tmp_path: Path, capsys) -> None:
    assert run_cli("case=ad_click", *FAST, "+copy_detection.descriptor=tiny_image", f"hydra.run.dir={tmp_path}") == 2
    assert "'copy_detection' applies to contrastive_retrieval cases only" in capsys.readouterr().err


def test_a_zero_byte_image_stops_before_training(tmp_path: Path, capsys) -> None:
    from PIL import Image

    for c in ("cats", "dogs"):
        (tmp_path / "images" / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 20), (40 * i, 80, 120)).save(tmp_path / "images" / c / f"{i}.png")
    (tmp_path / "images" / "dogs" / "empty.png").write_bytes(b"")
    args = ("dataset=image_folder", f"dataset.path={tmp_path / 'images'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert run_cli("case=visual_search", *FAST, *args) == 2
    assert "empty.png" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()
