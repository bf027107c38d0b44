"""Images in class folders: `<root>/<class>/<name>.png|jpg|jpeg|bmp|webp` (the layout of most image data sets).

    python run.py case=visual_search dataset=image_folder dataset.path=/data/products

Classes are the sub-folder names (sorted; deeper folders belong to their top-level class); images lying
directly in `<root>` are each their own class (named after the file: search then has nothing of the same
class to find for them, said in the run's info). Hidden files and folders (".name") are skipped.

Every image is decoded with Pillow and converted to `mode` ("RGB" or "L"): grey, palette, CMYK and
transparent images are converted and counted per source mode in info["converted_modes"]; transparent
pixels are laid on white first (product shots often have a transparent background, which plain conversion
would turn black). Each is then centre-cropped to a square and resized to `image_size` (Lanczos; mixed sizes
are the norm), counted in info["resized"]. Classes with fewer than `min_class_size` images are dropped
(counted). The order is the sorted paths: deterministic.

A missing folder, a folder without images, a zero-byte or undecodable file stop the run before training,
naming the file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
MODES = ("RGB", "L")


def _files(root: Path) -> list[tuple[Path, str]]:
    """(file, class name) pairs, sorted by path; a file in the root is its own class."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            found.append((path, relative.parts[0] if len(relative.parts) > 1 else path.stem))
    return found


def _load(path: Path, mode: str, size: int, converted: Counter) -> tuple[np.ndarray, bool]:
    """The image as uint8 [size, size] (L) or [size, size, 3] (RGB), and whether it was resized."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        raise DataError(f"{path}: an empty (zero-byte) image file. Remove it or replace it with the image.")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode != mode:
                converted[im.mode] += 1
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                im = im.convert(mode)
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            square = im.crop((left, top, left + side, top + side))
            resized = (w, h) != (size, size)
            if resized:
                square = square.resize((size, size), Image.LANCZOS)
            return np.asarray(square, np.uint8), resized
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot decode the image ({type(exc).__name__}: {exc}). Remove it or replace it with a valid "
            "image."
        ) from None


def read_image_folder(
    path: str,
    image_size: int = 64,
    mode: str = "RGB",
    max_rows: int | None = None,
    min_class_size: int = 1,
) -> RetrievalCorpus:
    """The images under `path` (class folders, or images in `path` itself), `image_size` square in `mode`;
    `max_rows` keeps the first images (sorted paths), `min_class_size` drops smaller classes."""
    root = Path(path).expanduser()
    if mode not in MODES:
        raise DataError(f"image_folder: mode must be one of {MODES}, got {mode!r}.")
    if image_size < 1:
        raise DataError(f"image_folder: image_size must be >= 1, got {image_size}.")
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (dataset.path=<a folder of class folders of images>).")
    files = _files(root)
    if not files:
        raise DataError(
            f"{root}: no images found (looked for {', '.join(SUFFIXES)} in it and its sub-folders; "
            "hidden files are skipped)."
        )
    sizes = Counter(c for _, c in files)
    small = {c for c, n in sizes.items() if n < min_class_size}
    if small:
        files = [(f, c) for f, c in files if c not in small]
        if not files:
            raise DataError(
                f"{root}: every class has fewer than min_class_size={min_class_size} images (largest: "
                f"{max(sizes.values())})."
            )
    if max_rows is not None:
        files = files[:max_rows]
    converted: Counter = Counter()
    pixels, resized = [], 0
    for file, _ in files:
        array, was_resized = _load(file, mode, image_size, converted)
        pixels.append(array if array.ndim == 3 else array[..., None])
        resized += was_resized
    names = sorted({c for _, c in files})
    index = {c: i for i, c in enumerate(names)}
    in_folders = any(len(f.relative_to(root).parts) > 1 for f, _ in files)
    info = {
        "images": len(files),
        "classes": len(names),
        "converted_modes": dict(sorted(converted.items())),
        "resized": resized,
        "image_size": image_size,
        "mode": mode,
    }
    if small:
        info["dropped_small_classes"] = len(small)
        info["dropped_images"] = sum(sizes[c] for c in small)
    if not in_folders:
        info["note"] = "no class folders: each image is its own class"
    return RetrievalCorpus(
        items={"images": np.stack(pixels)},
        item_ids=[str(f.relative_to(root)) for f, _ in files],
        source=str(root),
        classes=np.array([index[c] for _, c in files], np.int64),
        class_names=names,
        info=info,
    )
