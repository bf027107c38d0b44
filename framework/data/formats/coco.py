"""COCO object-detection JSON: reader (-> DetectionSet) and writer (images + `annotations.json`).

The format (cocodataset.org/#format-data): `images` [{id, file_name, width, height}], `categories`
[{id, name}], `annotations` [{id, image_id, category_id, bbox: [x, y, width, height]}] in pixels from
the top-left corner. Images are decoded with Pillow from `images_dir` (default: the JSON's folder).

    python run.py case=street_view_blurring dataset=coco_detection dataset.path=/data/annotations.json \
        dataset.images_dir=/data/images

Bad input stops the run before training with the file and the annotation: a box outside its image,
a zero-area box, an unknown image or category id, an image file that is missing or of another size.
Detections are written in COCO's results format (`write_results`: [{image_id, category_id, bbox, score}]).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from framework.data.detection.table import BOX_COLUMNS, DetectionSet
from framework.errors import DataError


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"{path}: no such annotation file.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise DataError(f"{path}: a COCO file needs the lists 'images', 'annotations' and 'categories'.")
    return doc


def _decode(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: cannot read the image ({type(exc).__name__}).") from None


def read_coco(
    path: str,
    images_dir: str | None = None,
    classes: list[str] | None = None,
    max_rows: int | None = None,
) -> DetectionSet:
    """The images and boxes of a COCO file; `classes` keeps those category names in that order (others
    are dropped and counted), `max_rows` the first images only."""
    file = Path(path).expanduser()
    doc = _load_json(file)
    folder = Path(images_dir).expanduser() if images_dir else file.parent
    try:
        categories = {int(c["id"]): str(c["name"]) for c in doc["categories"]}
        images = [(int(i["id"]), str(i["file_name"]), i.get("width"), i.get("height")) for i in doc["images"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{file}: an image or category entry lacks a valid {exc}.") from None
    names = list(classes) if classes else [categories[k] for k in sorted(categories)]
    unknown = [n for n in names if n not in categories.values()]
    if unknown:
        raise DataError(f"{file}: no category named {unknown}; its categories: {sorted(categories.values())}.")
    label_of = {cid: names.index(name) for cid, name in categories.items() if name in names}
    if max_rows is not None:
        images = images[:max_rows]
    index_of = {image_id: i for i, (image_id, *_) in enumerate(images)}
    known_images = {int(i["id"]) for i in doc["images"]}
    pixels: list[np.ndarray] = []
    for image_id, name, width, height in images:
        array = _decode(folder / name)
        if width is not None and height is not None and (array.shape[1], array.shape[0]) != (int(width), int(height)):
            raise DataError(
                f"{file}: image {image_id} ('{name}') is {array.shape[1]}x{array.shape[0]} pixels, but the file says "
                f"{width}x{height}."
            )
        pixels.append(array)
    rows: dict[str, list] = {c: [] for c in BOX_COLUMNS}
    dropped = 0
    for a in doc["annotations"]:
        try:
            ann_id, image_id, category = int(a["id"]), int(a["image_id"]), int(a["category_id"])
            x, y, w, h = (float(v) for v in a["bbox"])
        except (KeyError, TypeError, ValueError):
            raise DataError(
                f"{file}: annotation {a.get('id', '?')} lacks a valid id, image_id, category_id or bbox [x, y, w, h]."
            ) from None
        if image_id not in known_images:
            raise DataError(f"{file}: annotation {ann_id} names image {image_id}, which the file does not list.")
        if category not in categories:
            raise DataError(f"{file}: annotation {ann_id} has category_id {category}, which the file does not list.")
        if image_id not in index_of:  # beyond max_rows
            continue
        if category not in label_of:
            dropped += 1
            continue
        for key, value in zip(
            BOX_COLUMNS, (index_of[image_id], x, y, x + w, y + h, label_of[category], ann_id), strict=True
        ):
            rows[key].append(value)
    boxes = pl.DataFrame(
        rows, schema={c: pl.Int64 if c in ("image", "label", "annotation") else pl.Float64 for c in BOX_COLUMNS}
    )
    info = {"images": len(pixels), "boxes": boxes.height, "dropped_other_categories": dropped}
    return DetectionSet(pixels, boxes, tuple(names), [name for _, name, *_ in images], str(file), info)


def write_coco(path: str | Path, data: DetectionSet, image_format: str = "png") -> Path:
    """`data` as a COCO folder: each image under `path`'s folder (`file_names`, or `<index>.<format>`) and
    the annotations in `path`; category ids are 1 + the class index (COCO's ids start at 1)."""
    from PIL import Image

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, list] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(data.classes)],
    }
    for i, image in enumerate(data.images):
        name = data.file_names[i] if i < len(data.file_names) else f"{i:06d}.{image_format}"
        Image.fromarray(image).save(file.parent / name)
        doc["images"].append({"id": i + 1, "file_name": name, "width": image.shape[1], "height": image.shape[0]})
    for n, row in enumerate(data.boxes.iter_rows(named=True)):
        x, y, w, h = row["x1"], row["y1"], row["x2"] - row["x1"], row["y2"] - row["y1"]
        doc["annotations"].append(
            {
                "id": n + 1,
                "image_id": int(row["image"]) + 1,
                "category_id": int(row["label"]) + 1,
                "bbox": [round(v, 2) for v in (x, y, w, h)],
                "area": round(w * h, 2),
                "iscrowd": 0,
            }
        )
    file.write_text(json.dumps(doc))
    return file


def write_results(path: str | Path, detections: list[np.ndarray]) -> Path:
    """Detections in COCO's results format; `detections[i]` is image i's [n, 6] (x1, y1, x2, y2, score, label)."""
    out = [
        {
            "image_id": i + 1,
            "category_id": int(d[5]) + 1,
            "bbox": [round(float(v), 2) for v in (d[0], d[1], d[2] - d[0], d[3] - d[1])],
            "score": round(float(d[4]), 4),
        }
        for i, dets in enumerate(detections)
        for d in dets
    ]
    file = Path(path)
    file.write_text(json.dumps(out))
    return file
