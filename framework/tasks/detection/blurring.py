"""Blur the detected boxes of an image (Pillow's Gaussian blur), what the product ships.

Each box is blurred on its own with a radius that grows with it (`radius` x its shorter side, at least
`min_radius` px): a fixed radius would leave a 64 px face readable or smear an 8 px one over its
neighbours. The box is widened to whole pixels outward (every pixel it touches is blurred: the privacy
recall metric measures coverage on the same pixel mask, widened by the same `margin`), and the blur reads
a margin around the box so
its edge does not fade into the original.
"""

from __future__ import annotations

import math

import numpy as np

from framework.metrics.detection import widen


def blur_boxes(
    image: np.ndarray, boxes: np.ndarray, radius: float = 0.25, min_radius: float = 2.0, margin: float = 0.0
) -> np.ndarray:
    """A copy of `image` (H x W x 3 uint8) with each of `boxes` ([n, 4+] x1, y1, x2, y2 in its pixels),
    widened by `margin` x its width and height on every side, blurred."""
    from PIL import Image, ImageFilter

    out = Image.fromarray(image)
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in widen(np.asarray(boxes), margin)[:, :4] if len(boxes) else []:
        left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
        right, bottom = min(w, math.ceil(x2)), min(h, math.ceil(y2))
        if right <= left or bottom <= top:
            continue
        r = max(min_radius, radius * min(right - left, bottom - top))
        m = math.ceil(2 * r)
        region = (max(0, left - m), max(0, top - m), min(w, right + m), min(h, bottom + m))
        blurred = out.crop(region).filter(ImageFilter.GaussianBlur(r))
        inner = (left - region[0], top - region[1], right - region[0], bottom - region[1])
        out.paste(blurred.crop(inner), (left, top))
    return np.asarray(out)


def before_after(pairs: list[tuple[np.ndarray, np.ndarray]], gap: int = 4) -> np.ndarray:
    """Rows of (before | after) images on a white sheet, for the report."""
    widths = [b.shape[1] + a.shape[1] + gap for b, a in pairs]
    heights = [max(b.shape[0], a.shape[0]) for b, a in pairs]
    sheet = np.full((sum(heights) + gap * len(pairs), max(widths), 3), 255, np.uint8)
    y = 0
    for (b, a), hh in zip(pairs, heights, strict=True):
        sheet[y : y + b.shape[0], : b.shape[1]] = b
        sheet[y : y + a.shape[0], b.shape[1] + gap : b.shape[1] + gap + a.shape[1]] = a
        y += hh + gap
    return sheet
