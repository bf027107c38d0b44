"""Seeded product-like images for visual search: classes of shape x texture x colour, items, and views of items.

A class is one (shape, texture, colour) combination — shapes: circle, square, triangle, cross, ring, diamond,
star; textures: plain, stripes, dots, checker; colours: red, green, blue, yellow, purple, orange — the first
`n_classes` of a fixed shuffle of all 168 (the same classes for every seed; asking for more is an error).
Class names read "star/stripes/red".

Each class has `items_per_class` items: a concrete object with its own exact colour (the palette's colour
shifted a little), size, orientation, position, texture period, angle and phase, and its own background
colour. Each item is photographed `views_per_item` times: shifted, scaled and rotated a little (the texture
moves with the object), lit brighter or darker, with sensor noise and 1-3 strokes of background clutter
that belong to no product. So two searches can be scored: same class (another product of the kind) and same
item (another photo of this one: near-duplicate search). `instances` is the global item index.

The planted difficulty: classes that differ in one attribute only are the hard pairs — the same shape and
colour with stripes vs dots (a texture a few pixels across at 32 px), or the same shape and texture in red
vs orange, purple vs blue. A pixel-space neighbour is mostly the same background and position (a property
of the item, not of its class), which a learned embedding must learn to ignore for class search and use
for item search.

Objects are drawn at 3x (`SCALE`) and downsampled with a box filter (anti-aliased); `image_size` square,
RGB uint8 [N, S, S, 3]. Images are ordered item by item (views of one item adjacent), with classes
interleaved (item k is of class k mod n_classes), so `max_rows` keeps whole items of every class.
"""

from __future__ import annotations

import math

import numpy as np

from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond", "star")
TEXTURES = ("plain", "stripes", "dots", "checker")
COLOURS = {
    "red": (210, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 210),
    "yellow": (225, 200, 40),
    "purple": (140, 60, 180),
    "orange": (235, 130, 30),
}
SCALE = 3  # drawn at 3x, downsampled


def class_table() -> list[tuple[str, str, str]]:
    """All (shape, texture, colour) classes in the fixed order classes are taken from."""
    combos = [(s, t, c) for s in SHAPES for t in TEXTURES for c in COLOURS]
    order = np.random.default_rng(2024).permutation(len(combos))
    return [combos[i] for i in order]


def _mask(shape: str, size: int, extent: float, angle: float):
    """A white-on-black L image of the shape, `extent` x the canvas, rotated by `angle` degrees."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    c, r = size / 2, extent * size / 2
    if shape == "circle":
        d.ellipse([c - r, c - r, c + r, c + r], fill=255)
    elif shape == "square":
        d.rectangle([c - 0.8 * r, c - 0.8 * r, c + 0.8 * r, c + 0.8 * r], fill=255)
    elif shape == "triangle":
        d.polygon([(c, c - r), (c + 0.95 * r, c + 0.75 * r), (c - 0.95 * r, c + 0.75 * r)], fill=255)
    elif shape == "cross":
        t = 0.38 * r
        d.rectangle([c - r, c - t, c + r, c + t], fill=255)
        d.rectangle([c - t, c - r, c + t, c + r], fill=255)
    elif shape == "ring":
        d.ellipse([c - r, c - r, c + r, c + r], fill=255)
        d.ellipse([c - 0.55 * r, c - 0.55 * r, c + 0.55 * r, c + 0.55 * r], fill=0)
    elif shape == "diamond":
        d.polygon([(c, c - r), (c + 0.7 * r, c), (c, c + r), (c - 0.7 * r, c)], fill=255)
    else:  # a five-pointed star
        points = [
            (c + rad * math.sin(k * math.pi / 5), c - rad * math.cos(k * math.pi / 5))
            for k, rad in zip(range(10), [r, 0.45 * r] * 5, strict=True)
        ]
        d.polygon(points, fill=255)
    return im.rotate(angle, resample=Image.BILINEAR)


def _texture(kind: str, grid: np.ndarray, colour: np.ndarray, period: float, phase: float, angle: float):
    """[size, size, 3] float: the colour, patterned with a lighter tone (stripes, dots, checker)."""
    y, x = grid
    if kind == "plain":
        return np.broadcast_to(colour, (*x.shape, 3))
    u = (x * np.cos(angle) + y * np.sin(angle)) / period + phase
    if kind == "stripes":
        on = (u % 1.0) < 0.5
    else:
        v = (-x * np.sin(angle) + y * np.cos(angle)) / period + phase
        if kind == "dots":
            on = ((u % 1.0) - 0.5) ** 2 + ((v % 1.0) - 0.5) ** 2 < 0.09
        else:  # checker
            on = (np.floor(u) + np.floor(v)) % 2 == 0
    light = colour + (255 - colour) * 0.65
    return np.where(on[..., None], light, colour)


def _item_patch(item: dict, big: int, grid: np.ndarray):
    """The item as an RGBA image on a transparent canvas (texture inside the shape), drawn once per item."""
    from PIL import Image

    mask = np.asarray(_mask(item["shape"], big, item["extent"], item["angle"]))
    texture = _texture(item["texture"], grid, item["colour"], item["period"], item["phase"], item["tex_angle"])
    rgba = np.concatenate([np.clip(texture, 0, 255).astype(np.uint8), mask[..., None]], axis=2)
    return Image.fromarray(rgba, "RGBA")


def _view(rng: np.random.Generator, item: dict, patch, big: int):
    """One photo of the item at 3x: the patch moved, scaled and turned a little on a cluttered background."""
    from PIL import Image, ImageDraw

    background = Image.new("RGBA", (big, big), (*(int(v) for v in item["background"]), 255))
    d = ImageDraw.Draw(background)
    for _ in range(rng.integers(1, 4)):  # clutter: faint lines and rings that belong to no product
        tone = (*(int(v) for v in np.clip(item["background"] + rng.normal(0, 40, 3), 0, 255)), 255)
        x0, y0, x1, y1 = rng.uniform(0, big, 4)
        if rng.random() < 0.5:
            d.line([x0, y0, x1, y1], fill=tone, width=int(rng.integers(2, 6)))
        else:
            d.ellipse([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=tone, width=3)
    # output -> input map of "scale and turn about the centre, then move to the item's place + a jitter"
    theta = math.radians(rng.uniform(-12, 12))
    scale = rng.uniform(0.9, 1.1)
    dx, dy = item["offset"] + rng.uniform(-0.05, 0.05, 2) * big
    cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
    c = big / 2
    a, b, e, f = cos, sin, -sin, cos
    tx, ty = c + dx, c + dy
    matrix = (a, b, c - a * tx - b * ty, e, f, c - e * tx - f * ty)
    moved = patch.transform((big, big), Image.AFFINE, matrix, resample=Image.BILINEAR)
    return Image.alpha_composite(background, moved).convert("RGB")


def generate(
    n_classes: int = 24,
    items_per_class: int = 20,
    views_per_item: int = 4,
    image_size: int = 32,
    seed: int = 0,
    max_rows: int | None = None,
) -> RetrievalCorpus:
    """`n_classes` x `items_per_class` x `views_per_item` images (the first `max_rows` only: whole items,
    classes interleaved so a cut keeps every class), seeded."""
    table = class_table()
    if not 1 <= n_classes <= len(table):
        raise DataError(
            f"catalogue images: n_classes must be in 1..{len(table)} (the distinct shape x texture x colour "
            f"combinations), got {n_classes}."
        )
    if items_per_class < 1 or views_per_item < 1 or image_size < 8:
        raise DataError("catalogue images: items_per_class and views_per_item must be >= 1, image_size >= 8.")
    if max_rows is not None and max_rows < 1:
        raise DataError(f"catalogue images: max_rows must be >= 1 (or null), got {max_rows}.")
    rng = np.random.default_rng(seed)
    big = image_size * SCALE
    grid = np.mgrid[0:big, 0:big].astype(np.float32)
    n_items = n_classes * items_per_class
    keep_items = n_items if max_rows is None else min(n_items, -(-max_rows // views_per_item))
    images, classes, instances, names = [], [], [], []
    for item_id in range(keep_items):
        c = item_id % n_classes  # classes interleaved: the first items cover every class
        shape, texture, colour = table[c]
        item = {
            "shape": shape,
            "texture": texture,
            "colour": np.clip(np.array(COLOURS[colour], np.float32) + rng.normal(0, 12, 3), 0, 255),
            "extent": rng.uniform(0.5, 0.75),
            "angle": rng.uniform(0, 360),
            "offset": rng.uniform(-0.12, 0.12, 2) * big,
            "period": rng.uniform(3.0, 5.0) * SCALE,
            "phase": rng.uniform(0, 1),
            "tex_angle": rng.uniform(0, np.pi),
            "background": rng.uniform(150, 245, 3),
        }
        patch = _item_patch(item, big, grid)
        for v in range(views_per_item):
            # a box filter over SCALE x SCALE blocks: the anti-aliased downsample
            images.append(np.asarray(_view(rng, item, patch, big).reduce(SCALE)))
            classes.append(c)
            instances.append(item_id)
            names.append(f"c{c:02d}_i{item_id:04d}_v{v}")
    if max_rows is not None:
        images, classes, instances, names = (x[:max_rows] for x in (images, classes, instances, names))
    pixels = np.stack(images).astype(np.float32)
    # lighting and sensor noise, drawn for the whole batch at once
    pixels *= rng.uniform(0.85, 1.15, (len(pixels), 1, 1, 1)).astype(np.float32)
    pixels += rng.normal(0, 4.0, pixels.shape).astype(np.float32)
    return RetrievalCorpus(
        items={"images": np.clip(pixels, 0, 255).round().astype(np.uint8)},
        item_ids=names,
        source="catalogue_images (synthetic)",
        classes=np.array(classes, np.int64),
        instances=np.array(instances, np.int64),
        class_names=["/".join(table[c]) for c in range(n_classes)],
        info={
            "generator": "catalogue_images",
            "classes": n_classes,
            "items": keep_items,
            "views": views_per_item,
            "images": len(names),
            "image_size": image_size,
        },
    )
