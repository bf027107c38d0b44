"""Street-view blurring end to end: a tiny run writes the suite, the blurred images and the detections;
bad COCO files and bad settings stop before training (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAST, read_run, run_cli

BASE = (
    "case=street_view_blurring",
    *FAST,
    "dataset.batch_size=8",
    "detection.blur.images=3",
    "detection.blur.examples=2",
)
TINY = (*BASE, "dataset.n_scenes=30", "dataset.image_size=64", "dataset.input_size=64")
SUITE = ("privacy_recall", "privacy_recall_face", "privacy_recall_plate", "map", "map_50", "ap_face", "ar_plate")


@pytest.mark.slow
def test_tiny_run_records_the_suite_and_writes_blurred_images(tmp_path: Path) -> None:
    assert run_cli(*TINY, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["objective"]["metric"] == "val/privacy_recall" and record["status"] == "finished"
    for name in SUITE:
        assert f"test/{name}" in record["metrics"], name
    assert {"blur/recall_face", "blur/recall_plate", "blur/fp_per_image"} <= set(record["metrics"])
    assert record["feature_spec"] == {"classes": ["face", "plate"], "input_size": 64}
    assert len(list((tmp_path / "blurred").glob("*.jpg"))) == 3 == record["blur"]["images"]
    assert (tmp_path / "plots" / "blur_examples.png").is_file()
    detections = json.loads((tmp_path / "detections.json").read_text())
    assert all(set(d) == {"image_id", "category_id", "bbox", "score"} for d in detections)
    assert record["serving"]["p50_ms"] > 0 and "64x64 image" in record["serving"]["request"]


def _coco_file(tmp_path: Path, bbox: list[float]) -> Path:
    from framework.data.formats.coco import write_coco
    from framework.data.synthetic.street_scenes import generate

    path = write_coco(tmp_path / "coco" / "annotations.json", generate(n_scenes=10, image_size=48, seed=1))
    doc = json.loads(path.read_text())
    doc["annotations"][0]["bbox"] = bbox
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.slow
def test_a_coco_folder_trains_and_a_box_outside_its_image_stops_before_training(tmp_path: Path, capsys) -> None:
    good = _coco_file(tmp_path / "good", [1.0, 1.0, 10.0, 12.0])
    args = ("dataset=coco_detection", f"dataset.path={good}", "dataset.input_size=48", "detection.blur.images=1")
    assert run_cli(*BASE, *args, f"hydra.run.dir={tmp_path / 'a'}") == 0
    assert read_run(tmp_path / "a")["data"]["images_read"] == 10
    bad = _coco_file(tmp_path / "bad", [40.0, 1.0, 20.0, 12.0])
    assert run_cli(*BASE, "dataset=coco_detection", f"dataset.path={bad}", f"hydra.run.dir={tmp_path / 'b'}") == 2
    err = capsys.readouterr().err
    assert "annotations.json" in err and "annotation 1 (image 'scene_" in err and "outside the 48x48" in err
    assert not (tmp_path / "b" / "checkpoints").exists()


def test_bad_settings_are_config_errors(tmp_path: Path, capsys) -> None:
    assert run_cli(*TINY, "dataset.input_size=50", "detection.decode.nms_iou=1.5", f"hydra.run.dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert "multiple of 16" in err and "'detection.decode.nms_iou' must be in [0.0, 1.0]" in err
