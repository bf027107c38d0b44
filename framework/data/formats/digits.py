"""scikit-learn's bundled handwritten digits (`sklearn.datasets.load_digits`, UCI optical digits): 1,797 grey
8x8 images of the digits 0-9, values 0-16. It ships with scikit-learn: no download.

    python run.py case=visual_search dataset=digits

Pixels are scaled to 0-255 and, for `image_size` other than 8, resized with Pillow (bilinear); one channel:
uint8 [N, s, s, 1]. Each image's class is its digit (class names "0".."9"); there are no instances
(near-duplicate search uses edited copies).
"""

from __future__ import annotations

import numpy as np

from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError


def read_digits(image_size: int = 8, max_rows: int | None = None) -> RetrievalCorpus:
    """The digits as grey images `image_size` square (the first `max_rows` only)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    if image_size < 1:
        raise DataError(f"digits: image_size must be >= 1, got {image_size}.")
    digits = load_digits()
    pixels = np.clip(digits.images * (255.0 / 16.0), 0, 255).round().astype(np.uint8)
    labels = digits.target.astype(np.int64)
    if max_rows is not None:
        pixels, labels = pixels[:max_rows], labels[:max_rows]
    if image_size != 8:
        pixels = np.stack(
            [np.asarray(Image.fromarray(p).resize((image_size, image_size), Image.BILINEAR)) for p in pixels]
        )
    return RetrievalCorpus(
        items={"images": pixels[..., None]},
        item_ids=[f"digit_{i:05d}" for i in range(len(pixels))],
        source="sklearn.datasets.load_digits",
        classes=labels,
        class_names=[str(d) for d in range(10)],
        info={"images": len(pixels), "image_size": image_size, "original_size": 8},
    )
