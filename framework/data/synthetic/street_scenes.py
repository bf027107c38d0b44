"""Seeded street scenes with faces and licence plates, for the street-view-blurring case (detection).

A scene (`image_size` square, default 128 px) is a procedural street: a sky gradient, buildings of random
colour and height with rows of windows, a grey road; or, with `backgrounds_dir`, a random crop of a photo
from that folder (resized). Pasted on it, each at a size s = sqrt(w * h) drawn log-uniformly in
[`min_size`, `max_size`] px (at most half the scene):

- faces (class 0): a skin-toned ellipse (6 tones), height/width 1.15-1.45, dark hair cap, two eyes, a
  mouth; about `faces_per_scene` per scene (Poisson), a third of them in a group side by side (a queue of
  pedestrians: the boxes nearly touch, so an NMS threshold set too low merges neighbours);
- plates (class 1): a white or yellow rectangle, width/height 2.4-4.6, a dark border and 4-7 dark glyph
  strokes; about `plates_per_scene` per scene, half on a car body (a coloured rounded box);
- hard negatives (no box), about `negatives_per_scene`: text signs (light or coloured boards with dark
  glyphs, aspect 1-2.2: plate-like strokes, not a plate's shape), skin-coloured balls and lamps without a
  face, and the buildings' windows (light rectangles).

Each object is drawn at 3x and downscaled (anti-aliased), lit by a random brightness and softened by a
Gaussian blur of radius up to `max_blur` px; the scene then gets Gaussian noise (sd up to `max_noise`
grey levels) and a JPEG round trip at quality 30-90. Boxes are the pasted objects' extents; objects
overlap at most 30% of the smaller box (later ones are redrawn elsewhere, or dropped).

The difficulty is planted in size: at 8-12 px a face is a few pixels of skin tone and a plate a light
smear, so recall falls at the small end and with a coarser input resolution.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl

from framework.data.detection.table import BOX_COLUMNS, DetectionSet
from framework.errors import DataError

CLASSES = ("face", "plate")
SKIN = [(241, 194, 167), (224, 172, 138), (198, 134, 103), (161, 102, 72), (118, 74, 52), (255, 214, 190)]
HAIR = [(30, 22, 18), (70, 45, 25), (120, 90, 50), (20, 20, 20), (200, 180, 120), (110, 110, 110)]
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def _size(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _face(rng: np.random.Generator, w: int, h: int):
    """A face patch drawn at 3x: skin ellipse, hair cap, eyes, mouth; (RGBA image at w x h)."""
    from PIL import Image, ImageDraw

    k = 3
    W, H = w * k, h * k
    im = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    skin = tuple(int(np.clip(c * rng.uniform(0.85, 1.1), 0, 255)) for c in SKIN[rng.integers(len(SKIN))])
    d.ellipse([0, 0, W - 1, H - 1], fill=(*skin, 255))
    hair = HAIR[rng.integers(len(HAIR))]
    if rng.random() < 0.85:
        d.chord([0, 0, W - 1, int(H * rng.uniform(0.45, 0.7))], 180, 360, fill=(*hair, 255))
    eye_y, eye_dx, r = H * rng.uniform(0.4, 0.5), W * rng.uniform(0.17, 0.24), max(1.0, W * 0.08)
    for cx in (W / 2 - eye_dx, W / 2 + eye_dx):
        d.ellipse([cx - r, eye_y - r * 0.8, cx + r, eye_y + r * 0.8], fill=(25, 20, 20, 255))
    my = H * rng.uniform(0.7, 0.8)
    d.line([W * 0.35, my, W * 0.65, my], fill=(120, 40, 40, 255), width=max(1, int(W * 0.06)))
    return im.resize((w, h), Image.LANCZOS)


def _board(rng: np.random.Generator, w: int, h: int, fill: tuple, ink: tuple, glyphs: int, border: bool):
    """A board with dark glyph strokes (a plate, or a sign): RGBA image at w x h."""
    from PIL import Image, ImageDraw

    k = 3
    W, H = w * k, h * k
    im = Image.new("RGBA", (W, H), (*fill, 255))
    d = ImageDraw.Draw(im)
    if border:
        d.rectangle([0, 0, W - 1, H - 1], outline=(*ink, 255), width=max(1, H // 12))
    pad_x, pad_y = W * 0.08, H * 0.2
    step = (W - 2 * pad_x) / glyphs
    stroke = max(1, int(step * 0.18))
    for g in range(glyphs):
        x0, x1 = pad_x + g * step + step * 0.15, pad_x + (g + 1) * step - step * 0.15
        y0, y1 = pad_y, H - pad_y
        kind = rng.integers(4)
        if kind == 0:  # a bar
            d.line([(x0 + x1) / 2, y0, (x0 + x1) / 2, y1], fill=(*ink, 255), width=stroke)
        elif kind == 1:  # a box-like digit
            d.rectangle([x0, y0, x1, y1], outline=(*ink, 255), width=stroke)
        elif kind == 2:  # a diagonal and a foot
            d.line([x0, y0, x1, y1], fill=(*ink, 255), width=stroke)
            d.line([x0, y1, x1, y1], fill=(*ink, 255), width=stroke)
        else:  # an E-like glyph
            for t in (y0, (y0 + y1) / 2, y1):
                d.line([x0, t, x1, t], fill=(*ink, 255), width=stroke)
            d.line([x0, y0, x0, y1], fill=(*ink, 255), width=stroke)
    return im.resize((w, h), Image.LANCZOS)


def _plate(rng: np.random.Generator, w: int, h: int):
    fill = (245, 245, 240) if rng.random() < 0.7 else (250, 210, 40)
    fill = tuple(int(c * rng.uniform(0.85, 1.0)) for c in fill)
    return _board(rng, w, h, fill, (20, 20, 30), int(rng.integers(4, 8)), border=True)


def _sign(rng: np.random.Generator, w: int, h: int):
    """A hard negative for plates: glyphs on a board that is not plate-shaped (aspect <= 2.2) or coloured."""
    fill = [(30, 90, 160), (20, 120, 60), (230, 230, 225), (200, 40, 40), (240, 240, 200)][rng.integers(5)]
    ink = (250, 250, 250) if sum(fill) < 450 else (25, 25, 25)
    return _board(rng, w, h, fill, ink, int(rng.integers(2, 5)), border=rng.random() < 0.5)


def _ball(rng: np.random.Generator, w: int, h: int):
    """A hard negative for faces: a skin- or orange-toned ellipse without eyes or mouth (a lamp, a ball)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (w * 3, h * 3), (0, 0, 0, 0))
    tone = SKIN[rng.integers(len(SKIN))] if rng.random() < 0.6 else (235, 150, 60)
    ImageDraw.Draw(im).ellipse([0, 0, w * 3 - 1, h * 3 - 1], fill=(*tone, 255))
    return im.resize((w, h), Image.LANCZOS)


def _street(rng: np.random.Generator, size: int):
    """A procedural street: sky gradient, buildings with windows, a road; RGB image."""
    from PIL import Image, ImageDraw

    sky_top, sky_bottom = np.array([90, 140, 210]) * rng.uniform(0.7, 1.1), np.array([200, 220, 240])
    t = np.linspace(0, 1, size)[:, None, None]
    sky = np.clip(sky_top * (1 - t) + sky_bottom * t, 0, 255).astype(np.uint8)
    im = Image.fromarray(np.broadcast_to(sky, (size, size, 3)).copy())
    d = ImageDraw.Draw(im)
    horizon = int(size * rng.uniform(0.55, 0.75))
    x = int(-rng.integers(0, size // 4))
    while x < size:
        bw, top = int(rng.integers(size // 6, size // 2)), int(rng.integers(size // 10, horizon - size // 8))
        colour = tuple(int(v) for v in rng.integers(60, 200, 3))
        d.rectangle([x, top, x + bw, horizon], fill=colour)
        win = max(3, int(rng.integers(size // 30, size // 12)))
        glass = tuple(int(v) for v in (rng.integers(150, 240), rng.integers(170, 240), rng.integers(180, 250)))
        for wy in range(top + win, horizon - win, win * 2):
            for wx in range(x + win // 2, x + bw - win, int(win * rng.uniform(1.6, 2.4))):
                d.rectangle([wx, wy, wx + win, wy + int(win * rng.uniform(0.6, 1.3))], fill=glass, outline=(40, 40, 40))
        x += bw + int(rng.integers(0, size // 12))
    grey = int(rng.integers(70, 130))
    d.rectangle([0, horizon, size, size], fill=(grey, grey, grey + 5))
    for lx in range(int(rng.integers(0, 20)), size, 30):
        d.rectangle([lx, int(size * 0.88), lx + 12, int(size * 0.9)], fill=(230, 230, 230))
    return im


def _photo(rng: np.random.Generator, photos: list[Path], size: int):
    """A random square crop of a random photo, resized to the scene."""
    from PIL import Image

    with Image.open(photos[rng.integers(len(photos))]) as src:
        src = src.convert("RGB")
        side = int(min(src.size) * rng.uniform(0.5, 1.0))
        x0, y0 = int(rng.integers(0, src.size[0] - side + 1)), int(rng.integers(0, src.size[1] - side + 1))
        return src.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)


def _free(box: tuple[float, float, float, float], taken: list[tuple[float, float, float, float]]) -> bool:
    """At most 30% of the smaller box overlaps any taken box."""
    x1, y1, x2, y2 = box
    for a1, b1, a2, b2 in taken:
        inter = max(0.0, min(x2, a2) - max(x1, a1)) * max(0.0, min(y2, b2) - max(y1, b1))
        if inter > 0.3 * min((x2 - x1) * (y2 - y1), (a2 - a1) * (b2 - b1)):
            return False
    return True


def _scene(rng: np.random.Generator, cfg: dict, photos: list[Path]) -> tuple[np.ndarray, list[tuple]]:
    from PIL import Image, ImageDraw, ImageFilter

    size = cfg["image_size"]
    canvas = _photo(rng, photos, size) if photos else _street(rng, size)
    taken: list[tuple[float, float, float, float]] = []
    boxes: list[tuple] = []

    def place(w: int, h: int, x: int | None = None, y: int | None = None) -> tuple[int, int] | None:
        for _ in range(20):
            px = int(rng.integers(0, size - w + 1)) if x is None else x
            py = int(rng.integers(0, size - h + 1)) if y is None else y
            if 0 <= px <= size - w and 0 <= py <= size - h and _free((px, py, px + w, py + h), taken):
                return px, py
            x = y = None  # a fixed spot that is taken: try random ones
        return None

    def paste(patch, px: int, py: int, label: int | None) -> None:
        light = rng.uniform(0.7, 1.15)
        rgb = np.asarray(patch, dtype=np.float32)
        rgb[..., :3] = np.clip(rgb[..., :3] * light, 0, 255)
        patch = Image.fromarray(rgb.astype(np.uint8), "RGBA")
        radius = rng.uniform(0, cfg["max_blur"])
        if radius > 0.2:
            patch = patch.filter(ImageFilter.GaussianBlur(radius))
        canvas.paste(patch, (px, py), patch)
        w, h = patch.size
        taken.append((px, py, px + w, py + h))
        if label is not None:
            boxes.append((float(px), float(py), float(px + w), float(py + h), label))

    lo, hi = cfg["min_size"], min(cfg["max_size"], size * 0.5)
    # hard negatives first (they may sit behind objects); signs and balls
    for _ in range(rng.poisson(cfg["negatives_per_scene"])):
        s = _size(rng, lo, hi)
        if rng.random() < 0.6:
            aspect = rng.uniform(0.8, 2.2)
            w, h = max(4, round(s * np.sqrt(aspect))), max(4, round(s / np.sqrt(aspect)))
            if (spot := place(w, h)) is not None:
                paste(_sign(rng, w, h), *spot, None)
        else:
            aspect = rng.uniform(0.8, 1.2)
            w, h = max(3, round(s / np.sqrt(aspect))), max(3, round(s * np.sqrt(aspect)))
            if (spot := place(w, h)) is not None:
                paste(_ball(rng, w, h), *spot, None)
    # plates, half of them on a car body
    for _ in range(rng.poisson(cfg["plates_per_scene"])):
        s, aspect = _size(rng, lo, hi), rng.uniform(2.4, 4.6)
        w, h = max(6, round(s * np.sqrt(aspect))), max(2, round(s / np.sqrt(aspect)))
        if w > size - 2:
            continue
        if rng.random() < 0.5 and w * 2.2 < size:
            cw, ch = int(w * 2.2), int(h * 3.2)
            cx, cy = (
                int(rng.integers(0, size - cw + 1)),
                int(rng.integers(size // 3, max(size // 3 + 1, size - ch + 1))),
            )
            body = tuple(int(v) for v in rng.integers(20, 230, 3))
            ImageDraw.Draw(canvas).rounded_rectangle(
                [cx, cy, cx + cw, min(size - 1, cy + ch)], radius=max(1, ch // 4), fill=body
            )
            spot = place(w, h, cx + (cw - w) // 2, min(size - h, cy + int(ch * 0.55)))
        else:
            spot = place(w, h)
        if spot is not None:
            paste(_plate(rng, w, h), *spot, 1)
    # faces: some in a group side by side
    n_faces = rng.poisson(cfg["faces_per_scene"])
    group = int(rng.integers(2, 5)) if n_faces >= 2 and rng.random() < 0.5 else 0
    gx = gy = None
    for f in range(n_faces):
        s, aspect = _size(rng, lo, hi), rng.uniform(1.15, 1.45)
        w, h = max(3, round(s / np.sqrt(aspect))), max(4, round(s * np.sqrt(aspect)))
        spot = place(w, h, gx, gy) if f < group and gx is not None else place(w, h)
        if spot is not None:
            paste(_face(rng, w, h), *spot, 0)
            if f < group:
                gx, gy = spot[0] + w + int(rng.integers(0, 3)), spot[1] + int(rng.integers(-2, 3))
    pixels = np.asarray(canvas, dtype=np.float32)
    noise = rng.uniform(0, cfg["max_noise"])
    if noise > 0:
        pixels = pixels + rng.normal(0, noise, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=int(rng.integers(30, 91)))
    out.seek(0)
    with Image.open(out) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8), boxes


def generate(
    n_scenes: int = 800,
    image_size: int = 128,
    min_size: float = 8.0,
    max_size: float = 64.0,
    faces_per_scene: float = 3.0,
    plates_per_scene: float = 2.5,
    negatives_per_scene: float = 3.0,
    max_blur: float = 1.0,
    max_noise: float = 8.0,
    backgrounds_dir: str | None = None,
    seed: int = 0,
    max_rows: int | None = None,
) -> DetectionSet:
    """`n_scenes` street scenes (the first `max_rows` when set) with their face and plate boxes."""
    photos: list[Path] = []
    if backgrounds_dir:
        folder = Path(backgrounds_dir).expanduser()
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES) if folder.is_dir() else []
        if not photos:
            raise DataError(f"{folder}: dataset.backgrounds_dir holds no photos ({', '.join(PHOTO_SUFFIXES)}).")
    if not 1 <= min_size <= max_size:
        raise DataError(f"street scenes: need 1 <= min_size <= max_size, got {min_size}, {max_size}.")
    n = n_scenes if max_rows is None else min(n_scenes, max_rows)
    cfg = {
        "image_size": image_size,
        "min_size": min_size,
        "max_size": max_size,
        "faces_per_scene": faces_per_scene,
        "plates_per_scene": plates_per_scene,
        "negatives_per_scene": negatives_per_scene,
        "max_blur": max_blur,
        "max_noise": max_noise,
    }
    images, rows = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])  # scene i is the same whatever n is
        image, boxes = _scene(rng, cfg, photos)
        images.append(image)
        rows += [(i, *b[:4], b[4]) for b in boxes]
    frame = pl.DataFrame(
        [(*r, k + 1) for k, r in enumerate(rows)],
        schema={c: pl.Int64 if c in ("image", "label", "annotation") else pl.Float64 for c in BOX_COLUMNS},
        orient="row",
    )
    names = [f"scene_{i:05d}.jpg" for i in range(n)]
    info = {"backgrounds": "photos" if photos else "procedural", "boxes": frame.height}
    return DetectionSet(images, frame, CLASSES, names, f"street_scenes(seed={seed})", info)
