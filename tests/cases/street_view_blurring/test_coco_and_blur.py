"""COCO JSON reader and writer on files the tests write; bad boxes stop with the file and annotation;
blurring touches the boxes only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.data.detection.table import BOX_COLUMNS, DetectionSet
from framework.data.formats.coco import read_coco, write_coco, write_results
from framework.errors import DataError
from framework.tasks.detection.blurring import before_after, blur_boxes


def _set(boxes: list[tuple], sizes: list[tuple[int, int]] = ((40, 60), (30, 30))) -> DetectionSet:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in sizes]
    frame = pl.DataFrame([(*b, k + 1) for k, b in enumerate(boxes)], schema=list(BOX_COLUMNS), orient="row")
    frame = frame.with_columns(pl.col("x1", "y1", "x2", "y2").cast(pl.Float64))
    return DetectionSet(images, frame, ("face", "plate"), [f"im{i}.png" for i in range(len(images))], "test")


def test_write_then_read_gives_the_same_images_and_boxes(tmp_path: Path) -> None:
    data = _set([(0, 5.0, 6.0, 25.0, 30.0, 0), (0, 30.0, 2.0, 58.0, 10.0, 1), (1, 0.0, 0.0, 30.0, 30.0, 1)])
    path = write_coco(tmp_path / "coco" / "annotations.json", data)
    doc = json.loads(path.read_text())
    assert [c["name"] for c in doc["categories"]] == ["face", "plate"]
    assert doc["annotations"][1]["bbox"] == [30.0, 2.0, 28.0, 8.0] and doc["annotations"][1]["category_id"] == 2
    back = read_coco(str(path))
    assert back.classes == ("face", "plate") and back.file_names == data.file_names
    for a, b in zip(back.images, data.images, strict=True):
        assert np.array_equal(a, b)
    cols = ["image", "x1", "y1", "x2", "y2", "label"]
    assert back.boxes.select(cols).to_numpy().tolist() == data.boxes.select(cols).to_numpy().tolist()
    assert read_coco(str(path), max_rows=1).boxes.height == 2


def test_classes_keeps_the_named_categories_in_that_order(tmp_path: Path) -> None:
    path = write_coco(tmp_path / "a.json", _set([(0, 5.0, 6.0, 25.0, 30.0, 0), (1, 1.0, 1.0, 29.0, 9.0, 1)]))
    plates = read_coco(str(path), classes=["plate"])
    assert plates.classes == ("plate",) and plates.boxes["label"].to_list() == [0]
    assert plates.info["dropped_other_categories"] == 1
    with pytest.raises(DataError, match="no category named"):
        read_coco(str(path), classes=["car"])


def _doc(tmp_path: Path, bbox: list[float], **image: object) -> Path:
    write_coco(tmp_path / "ok.json", _set([(0, 1.0, 1.0, 5.0, 5.0, 0)]))
    doc = json.loads((tmp_path / "ok.json").read_text())
    doc["annotations"][0].update(id=77, bbox=bbox)
    doc["images"][0].update(image)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (
            [50.0, 30.0, 20.0, 5.0],
            "annotation 77 (image 'im0.png') has a box [x 50-70, y 30-35] outside the 60x40 image",
        ),
        ([-3.0, 2.0, 10.0, 5.0], "outside the 60x40 image"),
        ([5.0, 5.0, 0.0, 4.0], "annotation 77 (image 'im0.png') has a zero-area box"),
        ([5.0, 5.0, 4.0, -1.0], "zero-area box"),
    ],
)
def test_bad_boxes_stop_with_the_file_and_the_annotation(tmp_path: Path, bbox: list[float], message: str) -> None:
    with pytest.raises(DataError, match=r"bad\.json") as err:
        read_coco(str(_doc(tmp_path, bbox)))
    assert message in str(err.value)


def test_other_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is 60x40 pixels, but the file says 64x40"):
        read_coco(str(_doc(tmp_path, [1.0, 1.0, 4.0, 4.0], width=64)))
    with pytest.raises(DataError, match="cannot read the image"):
        read_coco(str(_doc(tmp_path, [1.0, 1.0, 4.0, 4.0], file_name="missing.png")))
    (tmp_path / "broken.json").write_text('{"images": [')
    with pytest.raises(DataError, match=r"broken\.json: not valid JSON"):
        read_coco(str(tmp_path / "broken.json"))
    doc = json.loads(_doc(tmp_path, [1.0, 1.0, 4.0, 4.0]).read_text())
    doc["annotations"][0]["category_id"] = 9
    (tmp_path / "cat.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="annotation 77 has category_id 9"):
        read_coco(str(tmp_path / "cat.json"))


def test_results_are_written_in_coco_results_format(tmp_path: Path) -> None:
    path = write_results(tmp_path / "r.json", [np.array([[1.0, 2.0, 11.0, 7.0, 0.9, 1.0]]), np.zeros((0, 6))])
    assert json.loads(path.read_text()) == [
        {"image_id": 1, "category_id": 2, "bbox": [1.0, 2.0, 10.0, 5.0], "score": 0.9}
    ]


def test_blur_changes_the_boxes_only() -> None:
    image = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    out = blur_boxes(image, np.array([[10.0, 10.0, 30.0, 25.0, 0.9, 0.0]]))
    inside, outside = np.zeros((40, 60), bool), np.ones((40, 60), bool)
    inside[10:25, 10:30] = True
    outside[10:25, 10:30] = False
    assert np.array_equal(out[outside], image[outside])
    assert out[inside].astype(float).std() < 0.5 * image[inside].astype(float).std()  # noise smoothed away
    wider = blur_boxes(image, np.array([[10.0, 10.0, 30.0, 25.0]]), margin=0.1)  # 2 px and 1.5 px more each way
    assert not np.array_equal(wider[8:10, 10:30], image[8:10, 10:30]) and np.array_equal(wider[:7], image[:7])
    assert np.array_equal(blur_boxes(image, np.zeros((0, 6))), image)
    sheet = before_after([(image, out), (image, out)])
    assert sheet.shape == (2 * 40 + 2 * 4, 60 + 4 + 60, 3)
