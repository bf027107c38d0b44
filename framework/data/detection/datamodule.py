"""Images with boxes for the detection kind: source -> checked -> split -> letterboxed arrays, cached.

1. the source gives a `DetectionSet` (its boxes are checked there: inside the image, with an area);
2. a seeded permutation of the images splits them into train / valid / test (`dataset.split`);
3. every image is letterboxed to `dataset.input_size` (the model's input resolution): scaled so its longer
   side fits (Pillow, bilinear), padded right and bottom with grey; its boxes scaled the same;
4. a split is one table of `images` [N, S, S, 3] uint8, `boxes` [N, K, 4] float32 (input pixels) and
   `labels` [N, K] int64 (-1: padding), K the most boxes of any image; the test images are also kept at
   their own size (`originals`), which the run blurs.

A batch is a slice of these arrays (no per-image decoding in the loop); augmentation happens in the task,
on the batch tensor (framework.tasks.detection.module).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from framework.data import cache, read_source
from framework.data.batching import TensorTable
from framework.data.detection import table as table_module
from framework.data.detection.table import DetectionSet
from framework.data.module import SplitTablesDataModule
from framework.errors import DataError

PARTS = ("train", "valid", "test")
PAD_GREY = 114  # letterbox padding (the usual mid grey)
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "batch_size", "eval_batch_size", "features", "cache", "input_size"}


@dataclass(frozen=True)
class DetectionSpec:
    """All a detector knows about the data: the class names and the square input size."""

    classes: tuple[str, ...]
    input_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """(the image scaled so its longer side is `size`, padded to size x size; the scale)."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((size, size, 3), PAD_GREY, dtype=np.uint8)
    resized = image if (nw, nh) == (w, h) else np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    out[:nh, :nw] = resized
    return out, scale


def split_images(n: int, fractions: list[float], seed: int) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_valid = int(n * fractions[0]), int(n * fractions[1])
    return {
        "train": np.sort(order[:n_train]),
        "valid": np.sort(order[n_train : n_train + n_valid]),
        "test": np.sort(order[n_train + n_valid :]),
    }


class DetectionDataModule(SplitTablesDataModule):
    def prepare(self) -> DetectionSpec:
        start = time.perf_counter()
        size = int(self.cfg.get("input_size") or 128)
        key = cache.cache_key(self.cfg, [table_module.__name__, __name__], extra={"seed": self.seed})
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, lambda: self._build(size))
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = DetectionSpec(tuple(meta["classes"]), size)
        self.arrays = arrays
        self.file_names: list[str] = list(meta["test_files"])
        return self.spec

    def _build(self, size: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        data, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, DetectionSet, "images with boxes")
        parts = split_images(len(data.images), list(self.cfg.split), self.seed)
        for name, rows in parts.items():
            if len(rows) == 0:
                raise DataError(
                    f"{data.source}: the split {list(self.cfg.split)} leaves no {name} images ({len(data.images)} "
                    f"images). Use more images or change dataset.split."
                )
        per_image = [data.boxes_of(i) for i in range(len(data.images))]
        k = max(1, max(len(labels) for _, labels in per_image))
        arrays: dict[str, np.ndarray] = {}
        info: dict[str, Any] = {
            "source": data.source,
            "images_read": len(data.images),
            "read_seconds": round(read_seconds, 3),
            "input_size": size,
            "source_info": data.info,
        }
        for name, rows in parts.items():
            images = np.empty((len(rows), size, size, 3), np.uint8)
            boxes = np.zeros((len(rows), k, 4), np.float32)
            labels = np.full((len(rows), k), -1, np.int64)
            scales = np.empty(len(rows), np.float32)
            for j, i in enumerate(rows):
                images[j], scales[j] = letterbox(data.images[i], size)
                b, lab = per_image[i]
                boxes[j, : len(lab)], labels[j, : len(lab)] = b * scales[j], lab
            arrays.update({f"{name}_images": images, f"{name}_boxes": boxes, f"{name}_labels": labels})
            arrays[f"{name}_scales"] = scales
            info[f"{name}_images"] = len(rows)
            info[f"{name}_boxes"] = {c: int((labels == n).sum()) for n, c in enumerate(data.classes)}
        info["rows"] = {name: len(rows) for name, rows in parts.items()}  # images per split (the run summary's line)
        originals = [data.images[i] for i in parts["test"]]
        hmax, wmax = max(o.shape[0] for o in originals), max(o.shape[1] for o in originals)
        arrays["test_originals"] = np.zeros((len(originals), hmax, wmax, 3), np.uint8)
        arrays["test_sizes"] = np.array([o.shape[:2] for o in originals], np.int64)
        for j, o in enumerate(originals):
            arrays["test_originals"][j, : o.shape[0], : o.shape[1]] = o
        meta = {
            "classes": list(data.classes),
            "info": info,
            "arrays": sorted(arrays),
            "test_files": [data.file_names[i] for i in parts["test"]],
        }
        return arrays, meta

    def part(self, part: str) -> dict[str, np.ndarray]:
        return {k: self.arrays[f"{part}_{k}"] for k in ("images", "boxes", "labels", "scales")}

    def original(self, j: int) -> np.ndarray:
        """Test image j at its own size."""
        h, w = self.arrays["test_sizes"][j]
        return self.arrays["test_originals"][j, :h, :w]

    def tensors(self, part: str) -> TensorTable:
        return TensorTable(
            {
                k: torch.from_numpy(np.ascontiguousarray(self.arrays[f"{part}_{k}"]))
                for k in ("images", "boxes", "labels")
            }
        )
