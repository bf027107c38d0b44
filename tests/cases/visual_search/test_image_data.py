"""Visual search's image sources (synthetic catalogue, scikit-learn digits, image folders) and the batched
SimCLR augmentations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from framework.data.formats.digits import read_digits
from framework.data.formats.image_folder import read_image_folder
from framework.data.images.augment import Augment, to_float
from framework.data.synthetic.catalogue_images import class_table, generate
from framework.errors import DataError

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "skimage-sample-images"


# --- synthetic catalogue -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue():
    return generate(n_classes=8, items_per_class=6, views_per_item=3, image_size=24, seed=0)


def test_catalogue_shapes_names_and_counts(catalogue) -> None:
    images = catalogue.items["images"]
    assert images.shape == (8 * 6 * 3, 24, 24, 3) and images.dtype == np.uint8
    assert catalogue.modality == "images"
    assert catalogue.classes.dtype == np.int64 and catalogue.instances.dtype == np.int64
    assert np.bincount(catalogue.classes).tolist() == [18] * 8
    assert np.bincount(catalogue.instances).tolist() == [3] * 48
    # an item's views share its class
    for item in range(48):
        assert len(set(catalogue.classes[catalogue.instances == item])) == 1
    assert len(set(catalogue.class_names)) == 8 and all(n.count("/") == 2 for n in catalogue.class_names)
    assert catalogue.item_ids[:2] == ["c00_i0000_v0", "c00_i0000_v1"] and len(set(catalogue.item_ids)) == 144
    assert catalogue.info == {
        "generator": "catalogue_images",
        "classes": 8,
        "items": 48,
        "views": 3,
        "images": 144,
        "image_size": 24,
    }
    assert images.std() > 20  # not blank


def test_catalogue_is_seeded(catalogue) -> None:
    again = generate(n_classes=8, items_per_class=6, views_per_item=3, image_size=24, seed=0)
    assert again.items["images"].tobytes() == catalogue.items["images"].tobytes()
    assert again.item_ids == catalogue.item_ids
    other = generate(n_classes=8, items_per_class=6, views_per_item=3, image_size=24, seed=1)
    assert other.items["images"].tobytes() != catalogue.items["images"].tobytes()
    assert other.class_names == catalogue.class_names  # the classes do not depend on the seed


def test_views_of_an_item_are_nearer_than_other_items_and_classes(catalogue) -> None:
    x = catalogue.items["images"].reshape(len(catalogue.item_ids), -1).astype(np.float64)
    squares = (x**2).sum(1)
    d = np.sqrt(np.maximum(squares[:, None] + squares[None] - 2 * x @ x.T, 0))
    same_item = catalogue.instances[:, None] == catalogue.instances[None]
    same_class = catalogue.classes[:, None] == catalogue.classes[None]
    off_diagonal = ~np.eye(len(x), dtype=bool)
    views = d[same_item & off_diagonal].mean()
    class_mates = d[same_class & ~same_item].mean()
    others = d[~same_class].mean()
    assert views < class_mates < others


def test_catalogue_max_rows_keeps_whole_items_of_every_class() -> None:
    cut = generate(n_classes=5, items_per_class=4, views_per_item=3, image_size=16, max_rows=30)
    assert len(cut.item_ids) == 30 and cut.items["images"].shape == (30, 16, 16, 3)
    assert set(cut.classes.tolist()) == set(range(5))
    assert np.bincount(cut.instances).tolist() == [3] * 10
    full = generate(n_classes=5, items_per_class=4, views_per_item=3, image_size=16)
    assert full.item_ids[:30] == cut.item_ids


def test_catalogue_refuses_more_classes_than_combinations() -> None:
    assert len(set(class_table())) == len(class_table())
    with pytest.raises(DataError, match="n_classes"):
        generate(n_classes=len(class_table()) + 1, items_per_class=1, views_per_item=1)


# --- digits ----------------------------------------------------------------------------------------------------


def test_digits_shapes_values_and_resize() -> None:
    digits = read_digits()
    images = digits.items["images"]
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert digits.class_names == [str(d) for d in range(10)] and set(digits.classes.tolist()) == set(range(10))
    assert digits.instances is None and digits.item_ids[0] == "digit_00000"
    big = read_digits(image_size=16, max_rows=50)
    assert big.items["images"].shape == (50, 16, 16, 1) and len(big.classes) == 50
    assert np.array_equal(big.classes, digits.classes[:50])
    # bilinear upscaling keeps the picture: the mean grey level barely moves
    assert abs(big.items["images"].mean() - images[:50].mean()) < 8


# --- image folders ---------------------------------------------------------------------------------------------


def _folder(root: Path) -> Path:
    """cats: RGB PNG 40x30, L PNG 20x20, RGBA PNG 64x64; dogs: RGB JPEG 50x50, P PNG 32x48."""
    from PIL import Image

    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(root / "cats" / "a.png")
    Image.new("L", (20, 20), 90).save(root / "cats" / "b.png")
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(root / "cats" / "c.png")  # transparent: laid on white
    Image.new("RGB", (50, 50), (30, 30, 200)).save(root / "dogs" / "d.jpg", quality=95)
    Image.new("RGB", (32, 48), (30, 200, 30)).convert("P").save(root / "dogs" / "e.PNG")
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_classes_sizes_and_modes(tmp_path: Path) -> None:
    corpus = read_image_folder(str(_folder(tmp_path / "images")), image_size=16)
    images = corpus.items["images"]
    assert images.shape == (5, 16, 16, 3) and images.dtype == np.uint8
    assert corpus.class_names == ["cats", "dogs"] and corpus.classes.tolist() == [0, 0, 0, 1, 1]
    assert corpus.item_ids == ["cats/a.png", "cats/b.png", "cats/c.png", "dogs/d.jpg", "dogs/e.PNG"]
    assert corpus.info["converted_modes"] == {"L": 1, "P": 1, "RGBA": 1}
    assert corpus.info["resized"] == 5 and "note" not in corpus.info
    assert tuple(images[0, 8, 8]) == (200, 30, 30)
    assert tuple(images[1, 8, 8]) == (90, 90, 90)
    assert tuple(images[2, 8, 8]) == (255, 255, 255)
    assert abs(int(images[3, 8, 8, 2]) - 200) < 6  # JPEG: close
    grey = read_image_folder(str(tmp_path / "images"), image_size=8, mode="L", max_rows=2)
    assert grey.items["images"].shape == (2, 8, 8, 1) and grey.info["converted_modes"] == {"RGB": 1}


def test_image_folder_min_class_size_and_flat_folder(tmp_path: Path) -> None:
    from PIL import Image

    root = _folder(tmp_path / "images")
    Image.new("RGB", (10, 10)).save(root / "dogs" / "f.bmp")
    Image.new("RGB", (10, 10)).save(root / "dogs" / "g.webp")
    kept = read_image_folder(str(root), image_size=8, min_class_size=4)
    assert kept.class_names == ["dogs"] and len(kept.item_ids) == 4 and kept.info["dropped_images"] == 3
    with pytest.raises(DataError, match="min_class_size"):
        read_image_folder(str(root), min_class_size=10)
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.new("RGB", (12, 12), (i * 50, 0, 0)).save(flat / f"p{i}.png")
    corpus = read_image_folder(str(flat), image_size=12)
    assert corpus.classes.tolist() == [0, 1, 2] and corpus.class_names == ["p0", "p1", "p2"]
    assert "own class" in corpus.info["note"] and corpus.info["resized"] == 0


def test_image_folder_errors_name_the_file(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images")
    (root / "dogs" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.png"):
        read_image_folder(str(root))
    (root / "dogs" / "empty.png").unlink()
    (root / "dogs" / "broken.png").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(DataError, match=r"broken\.png: cannot decode"):
        read_image_folder(str(root))
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match=r"no images found \(looked for \.png, \.jpg"):
        read_image_folder(str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="no such folder"):
        read_image_folder(str(tmp_path / "missing"))
    with pytest.raises(DataError, match="mode"):
        read_image_folder(str(root), mode="CMYK")


def test_image_folder_reads_the_skimage_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/data/skimage-sample-images is absent (private fixture)")
    corpus = read_image_folder(str(SAMPLES), image_size=64)
    assert corpus.items["images"].shape == (11, 64, 64, 3)
    assert len(corpus.class_names) == 11 and corpus.classes.tolist() == list(range(11))
    assert "camera.png" in corpus.item_ids and any(i.endswith(".jpg") for i in corpus.item_ids)
    assert corpus.info["converted_modes"].get("L", 0) >= 1 and "note" in corpus.info
    camera = corpus.items["images"][corpus.item_ids.index("camera.png")]
    assert np.array_equal(camera[..., 0], camera[..., 1])  # a grey image converted to RGB stays grey


# --- augmentations -------------------------------------------------------------------------------------------


def _batch(b: int = 6, c: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(0))


def test_to_float_layout_and_range() -> None:
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 4, 3), dtype=np.uint8)
    x = to_float(images)
    assert x.shape == (2, 3, 5, 4) and x.dtype == torch.float32
    assert torch.allclose(x[1, 2, 3, 1], torch.tensor(images[1, 3, 1, 2] / 255.0, dtype=torch.float32))
    assert torch.equal(to_float(torch.from_numpy(images)), x)


def test_augment_shape_range_determinism() -> None:
    x = _batch()
    augment = Augment(blur_p=0.5, noise_sd=0.05, hue=0.1)
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    c = augment(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and a.dtype == x.dtype and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a - x).abs().mean() > 0.01


def test_augment_identity_when_everything_is_off() -> None:
    x = _batch()
    off = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), flip=0, jitter_p=0, grayscale_p=0, blur_p=0)
    assert torch.allclose(off(x, torch.Generator().manual_seed(0)), x, atol=1e-5)


def test_augment_flip_only_mirrors() -> None:
    x = _batch()
    flip = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), flip=1.0, jitter_p=0, grayscale_p=0)
    assert torch.allclose(flip(x, torch.Generator().manual_seed(0)), x.flip(-1), atol=1e-5)


def test_augment_grey_input_and_grayscale() -> None:
    grey = _batch(c=1)
    out = Augment(blur_p=1.0, noise_sd=0.02, hue=0.2)(grey, torch.Generator().manual_seed(0))
    assert out.shape == grey.shape and out.min() >= 0 and out.max() <= 1
    x = _batch()
    always = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), flip=0, jitter_p=0, grayscale_p=1.0)(
        x, torch.Generator().manual_seed(0)
    )
    assert torch.allclose(always[:, 0], always[:, 1]) and torch.allclose(always[:, 1], always[:, 2])


def test_augment_crop_of_a_half_black_image_moves_the_mean() -> None:
    x = torch.zeros(64, 1, 32, 32)
    x[..., 16:] = 1.0  # right half white: a full view's mean is 0.5
    crop = Augment(crop_scale=(0.1, 0.3), crop_ratio=(1, 1), flip=0, jitter_p=0, grayscale_p=0)
    means = crop(x, torch.Generator().manual_seed(0)).mean((1, 2, 3))
    # small crops land mostly on one side: many views far from 0.5, on both sides of it
    assert (means < 0.25).any() and (means > 0.75).any()
    assert torch.allclose(means.mean(), torch.tensor(0.5), atol=0.15)


def test_augment_blur_smooths_and_jitter_changes_colour() -> None:
    x = _batch(size=24)
    blur = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), flip=0, jitter_p=0, grayscale_p=0, blur_p=1.0)
    blurred = blur(x, torch.Generator().manual_seed(0))
    assert blurred.diff(dim=-1).abs().mean() < x.diff(dim=-1).abs().mean()
    assert torch.allclose(blurred.mean(), x.mean(), atol=0.02)
    jitter = Augment(crop_scale=(1, 1), crop_ratio=(1, 1), flip=0, jitter_p=1.0, grayscale_p=0, hue=0.3)
    jittered = jitter(x, torch.Generator().manual_seed(0))
    assert (jittered - x).abs().mean() > 0.02


def test_augment_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="crop_scale"):
        Augment(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="flip"):
        Augment(flip=1.5)
