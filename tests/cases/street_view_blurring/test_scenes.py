"""The embedded street-scene generator: seeded, boxes inside the scene, both classes, photo backgrounds."""

from __future__ import annotations

import numpy as np
import pytest

from framework.data.detection.datamodule import letterbox, split_images
from framework.data.synthetic.street_scenes import generate
from framework.errors import DataError
from tests.conftest import shared_file


def test_scenes_are_seeded_and_boxes_fit_the_planted_sizes() -> None:
    a, b = generate(n_scenes=12, image_size=96, seed=3), generate(n_scenes=12, image_size=96, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images, strict=True)) and a.boxes.equals(b.boxes)
    assert not np.array_equal(a.images[0], generate(n_scenes=1, image_size=96, seed=4).images[0])
    assert np.array_equal(generate(n_scenes=3, image_size=96, seed=3).images[2], a.images[2])  # scene i whatever n
    assert a.images[0].shape == (96, 96, 3) and set(a.boxes["label"].unique()) == {0, 1}
    w, h = (a.boxes["x2"] - a.boxes["x1"]).to_numpy(), (a.boxes["y2"] - a.boxes["y1"]).to_numpy()
    size = np.sqrt(w * h)
    assert size.min() >= 6 and size.max() <= 0.5 * 96 + 3  # 8 px up to the scene's cap, after rounding
    faces, plates = a.boxes["label"].to_numpy() == 0, a.boxes["label"].to_numpy() == 1
    assert (h[faces] / w[faces]).mean() > 1.0 and (w[plates] / h[plates]).min() > 1.8  # tall faces, wide plates


def test_photo_backgrounds_from_a_folder() -> None:
    folder = shared_file("skimage-sample-images")
    scenes = generate(n_scenes=3, image_size=64, backgrounds_dir=str(folder), seed=0)
    assert scenes.info["backgrounds"] == "photos" and scenes.images[0].shape == (64, 64, 3)


def test_a_folder_without_photos_is_an_error(tmp_path) -> None:
    with pytest.raises(DataError, match="holds no photos"):
        generate(n_scenes=2, backgrounds_dir=str(tmp_path))


def test_letterbox_scales_the_longer_side_and_pads() -> None:
    image = np.full((30, 60, 3), 200, np.uint8)
    out, scale = letterbox(image, 32)
    assert scale == pytest.approx(32 / 60) and out.shape == (32, 32, 3)
    assert (out[:16] == 200).all() and (out[17:] == 114).all()
    parts = split_images(20, [0.7, 0.15, 0.15], 0)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(20)) and len(parts["train"]) == 14
