"""`DetectionSet`: images and their labelled boxes, what every detection source returns.

    DetectionSet(images=[uint8 H x W x 3, ...], boxes=polars frame, classes=("face", "plate"),
                 file_names=["0001.jpg", ...], source="annotations.json")

`boxes` columns: `image` (int64, index into `images`), `x1`, `y1`, `x2`, `y2` (float64, pixels, corners;
x2 > x1, y2 > y1, inside the image), `label` (int64, index into `classes`), `annotation` (int64, the
annotation id of the source, named in error messages). Images may differ in size; the data module
letterboxes them to the model's input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from framework.errors import DataError

BOX_COLUMNS = ("image", "x1", "y1", "x2", "y2", "label", "annotation")


@dataclass
class DetectionSet:
    images: list[np.ndarray]
    boxes: pl.DataFrame
    classes: tuple[str, ...]
    file_names: list[str]
    source: str
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.images:
            raise DataError(f"{self.source}: no images.")
        missing = [c for c in BOX_COLUMNS if c not in self.boxes.columns]
        if missing:
            raise DataError(f"{self.source}: the box table lacks column(s) {missing}.")
        check_boxes(self)

    def boxes_of(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """([n, 4] corners, [n] labels) of one image."""
        rows = self.boxes.filter(pl.col("image") == index)
        return rows.select("x1", "y1", "x2", "y2").to_numpy().astype(np.float32), rows["label"].to_numpy()


def check_boxes(data: DetectionSet) -> None:
    """Every box has an area and lies inside its image: else a DataError naming the file and annotation,
    before anything trains (a box outside the image would teach the detector to fire on padding)."""
    b = data.boxes
    if b.height == 0:
        return
    image = b["image"].to_numpy()
    if image.min() < 0 or image.max() >= len(data.images):
        row = int(np.flatnonzero((image < 0) | (image >= len(data.images)))[0])
        raise DataError(
            f"{data.source}: annotation {b['annotation'].to_numpy()[row]} names an image that does not exist."
        )
    label = b["label"].to_numpy()
    bad_label = np.flatnonzero((label < 0) | (label >= len(data.classes)))
    if len(bad_label):
        row = int(bad_label[0])
        raise DataError(
            f"{data.source}: annotation {b['annotation'].to_numpy()[row]} has class {label[row]}; "
            f"classes: {list(data.classes)}."
        )
    annotation = b["annotation"].to_numpy()
    x1, y1, x2, y2 = (b[c].to_numpy() for c in ("x1", "y1", "x2", "y2"))
    heights = np.array([im.shape[0] for im in data.images])[image]
    widths = np.array([im.shape[1] for im in data.images])[image]
    for row in np.flatnonzero(~((x2 > x1) & (y2 > y1))):
        raise DataError(
            f"{data.source}: annotation {annotation[row]} (image '{data.file_names[image[row]]}') has a "
            f"zero-area box [x {x1[row]:g}-{x2[row]:g}, y {y1[row]:g}-{y2[row]:g}]: width and height must be positive."
        )
    eps = 0.5  # half a pixel of rounding in the source's coordinates
    outside = (x1 < -eps) | (y1 < -eps) | (x2 > widths + eps) | (y2 > heights + eps)
    for row in np.flatnonzero(outside):
        raise DataError(
            f"{data.source}: annotation {annotation[row]} (image '{data.file_names[image[row]]}') has a box "
            f"[x {x1[row]:g}-{x2[row]:g}, y {y1[row]:g}-{y2[row]:g}] outside the {widths[row]}x{heights[row]} image."
        )
