"""Near-duplicate (copy) detection: the tiny-image descriptor ignores brightness and contrast, reference
views line up with cropped copies, the index's scores are its best view's, and the detector finds edited
copies that the plain descriptor misses; micro AP against scikit-learn's average precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from framework.data.formats.digits import read_digits
from framework.data.images.augment import Augment, to_float
from framework.data.synthetic.catalogue_images import generate
from framework.metrics.search import micro_average_precision
from framework.search.copy_detection import CopyIndex, crop_view, tiny_image, view_boxes


def _images(n: int = 48, seed: int = 0) -> torch.Tensor:
    corpus = generate(n_classes=6, items_per_class=max(1, -(-n // 6)), views_per_item=1, image_size=32, seed=seed)
    return to_float(corpus.items["images"][:n])


def test_tiny_image_ignores_brightness_and_contrast_but_not_content() -> None:
    x = _images(4)
    describe = tiny_image(8)
    edited = ((x - 0.5) * 0.6 + 0.5) * 1.1  # lower contrast, brighter: no clipping in [0, 1]
    base, same = describe(x), describe(edited)
    assert base.shape == (4, 3 * 8 * 8)
    torch.testing.assert_close(base.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(same, base, atol=1e-5, rtol=0)
    assert (base @ base.T - torch.eye(4)).abs().max() < 0.99  # different images stay apart


def test_views_cover_every_size_pair_and_place() -> None:
    boxes = view_boxes([1.0, 0.8], positions=3, flips=False)
    assert len(boxes) == (1 + 3) ** 2  # per axis: the full side once, 0.8 at three places
    assert (1.0, 1.0, 0.0, 0.0, False) in boxes
    xs = sorted({round(b[2], 6) for b in boxes if b[0] == 0.8})
    assert xs == [-0.2, 0.0, 0.2]  # edge to edge: the box never leaves the image
    assert len(view_boxes([1.0, 0.8], positions=3, flips=True)) == 2 * len(boxes)
    x = _images(2)
    assert crop_view(x, boxes[0]) is x  # the whole image, untouched
    mirrored = crop_view(x, (1.0, 1.0, 0.0, 0.0, True))
    torch.testing.assert_close(mirrored, x.flip(-1), atol=1e-5, rtol=0)


def test_a_reference_scores_its_best_view() -> None:
    x = _images(12)
    index = CopyIndex(tiny_image(8), view_sizes=(1.0, 0.8), view_positions=3).build(x)
    assert len(index) == 12 and index.views == 16 and index.bytes_per_image == 16 * 192 * 4
    crop = crop_view(x[5:6], (0.8, 0.8, 0.2, -0.2, False))  # exactly one of image 5's views
    scores, ids = index.search(crop, 3)
    assert ids[0, 0] == 5 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    all_views = torch.stack([tiny_image(8)(crop_view(x, b)) for b in index.boxes], 1)  # [12, 16, D]
    expected = (all_views @ tiny_image(8)(crop)[0]).amax(1)
    torch.testing.assert_close(scores[0], expected.topk(3).values)


def test_views_find_edited_copies_the_plain_descriptor_misses() -> None:
    # digits: alike images of few pixels, where a crop moves every stroke (the case's own query edit)
    x = to_float(read_digits(16, max_rows=300).items["images"])
    near = Augment(
        crop_scale=(0.8, 1.0),
        flip=0.0,
        jitter_p=1.0,
        brightness=0.2,
        contrast=0.2,
        saturation=0.2,
        grayscale_p=0.0,
        noise_sd=0.02,
    )
    queries = near(x, torch.Generator().manual_seed(1))
    truth = torch.arange(len(x))
    plain = CopyIndex(tiny_image(8)).build(x)
    viewed = CopyIndex(tiny_image(8), view_sizes=(1.0, 0.93, 0.86, 0.78), view_positions=3).build(x)
    plain_r1 = float((plain.search(queries, 1)[1][:, 0] == truth).float().mean())
    viewed_r1 = float((viewed.search(queries, 1)[1][:, 0] == truth).float().mean())
    assert viewed_r1 >= 0.98 and viewed_r1 > plain_r1 + 0.05, (plain_r1, viewed_r1)


def test_search_in_chunks_equals_one_product(monkeypatch) -> None:
    import framework.search.copy_detection as module

    x = _images(24)
    index = CopyIndex(tiny_image(4), view_sizes=(1.0, 0.9), view_positions=2).build(x)
    whole = index.search(x, 5)
    monkeypatch.setattr(module, "_SCORES_PER_CHUNK", 1)  # one query per product
    chunked = index.search(x, 5)
    torch.testing.assert_close(chunked[0], whole[0])
    assert torch.equal(chunked[1], whole[1])


def test_bad_views_are_refused() -> None:
    with pytest.raises(ValueError, match="view_sizes"):
        CopyIndex(tiny_image(8), view_sizes=(1.2,))
    with pytest.raises(ValueError, match="view_positions"):
        CopyIndex(tiny_image(8), view_positions=0)
    with pytest.raises(RuntimeError, match="before build"):
        CopyIndex(tiny_image(8)).search(_images(2), 1)


def test_micro_ap_by_hand_and_against_scikit_learn() -> None:
    # 3 queries with an original, 2 distractors; sorted: correct, distractor, correct, wrong match, distractor
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    correct = torch.tensor([True, False, True, False, False])
    assert micro_average_precision(scores, correct, 3) == pytest.approx((1 / 1 + 2 / 3) / 3)
    rng = np.random.default_rng(0)
    s = torch.from_numpy(rng.random(200))
    c = torch.from_numpy(rng.random(200) < 0.4)
    n_positive = int(c.sum()) + 17  # 17 queries whose original was not found at all
    expected = average_precision_score(c.numpy(), s.numpy()) * int(c.sum()) / n_positive
    assert micro_average_precision(s, c, n_positive) == pytest.approx(expected)


def test_micro_ap_breaks_ties_against_the_correct_match() -> None:
    scores = torch.tensor([0.5, 0.5])
    assert micro_average_precision(scores, torch.tensor([True, False]), 1) == pytest.approx(0.5)
    assert micro_average_precision(scores, torch.tensor([False, True]), 1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least one"):
        micro_average_precision(scores, torch.tensor([False, False]), 0)


@pytest.mark.slow
def test_the_scale_bench_runs_and_prints_its_table() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    args = ["--catalogue", "60", "--queries", "20", "--latency-requests", "3"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_copy_detection.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = [line for line in done.stdout.splitlines() if line.startswith("| 60 |")]
    assert row and float(row[0].split("|")[5]) >= 0.9  # recall@1 of 20 edited copies among 60 images


@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_an_ann_over_the_views_finds_what_exact_search_finds(index: str) -> None:
    from framework.serving.index import FaissHNSWIndex, FaissIVFIndex

    x = to_float(read_digits(16, max_rows=300).items["images"])
    near = Augment(crop_scale=(0.8, 1.0), flip=0.0, jitter_p=1.0, grayscale_p=0.0, noise_sd=0.02)
    queries = near(x, torch.Generator().manual_seed(2))
    views = {"view_sizes": (1.0, 0.9, 0.8), "view_positions": 3}
    ann = FaissIVFIndex(nlist=64, nprobe=8) if index == "ivf" else FaissHNSWIndex(m=16, ef_search=64)
    exact = CopyIndex(tiny_image(8), **views).build(x)
    approximate = CopyIndex(tiny_image(8), **views, index=ann, candidates=32).build(x)
    e_scores, e_ids = exact.search(queries, 5)
    a_scores, a_ids = approximate.search(queries, 5)
    agree = float((a_ids[:, 0] == e_ids[:, 0]).float().mean())
    assert agree >= 0.97, agree
    same = a_ids[:, 0] == e_ids[:, 0]  # where both found the same best image, with the same (best view's) score
    torch.testing.assert_close(a_scores[same, 0], e_scores[same, 0], atol=1e-5, rtol=0)
    assert (a_ids >= -1).all() and ((a_ids == -1) == torch.isinf(a_scores)).all()


def test_an_ann_that_finds_few_views_leaves_empty_slots() -> None:
    from framework.serving.index import FaissFlatIndex

    x = _images(6)
    # 9 views per image; the 3 views fetched are all image 0's own (its whole view scores 1): one image found
    index = CopyIndex(tiny_image(8), (1.0, 0.9), 2, index=FaissFlatIndex(), candidates=3).build(x)
    scores, ids = index.search(x[:1], 3)
    assert ids[0].tolist() == [0, -1, -1] and torch.isinf(scores[0, 1:]).all()
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="candidates"):
        CopyIndex(tiny_image(8), candidates=0)
