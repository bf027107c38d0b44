"""The temporal video encoder and what trains and scores it: frames reversed, the time moment, the order-aware
text pooling, the time-order loss (by hand), the time-order probe, twins kept in one split."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.data.retrieval.datamodule import RetrievalSpec
from framework.losses.contrastive import time_order_loss
from framework.models.contrastive.text_video import DualEncoder, _time_moment, reverse_frames

SPEC = RetrievalSpec("videos", vocab_size=20, max_tokens=8, feature_dim=6, max_frames=5)


def test_reverse_frames_reverses_the_real_frames_and_keeps_the_padding() -> None:
    frames = torch.arange(2 * 5 * 1, dtype=torch.float32).reshape(2, 5, 1) + 1
    frames[0, 3:] = 0  # 3 real frames
    out = reverse_frames(frames, torch.tensor([3, 5]))
    assert out[0, :, 0].tolist() == [3.0, 2.0, 1.0, 0.0, 0.0]
    assert out[1, :, 0].tolist() == [10.0, 9.0, 8.0, 7.0, 6.0]


def test_time_moment_is_a_sign_of_order_whatever_the_length_or_the_offset() -> None:
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    # "a then b" over 4 frames, and over 6 frames with 2 of padding-free noise words before (zero weight)
    x = torch.stack([a, a, b, b])[None]
    moment = _time_moment(x, torch.ones(1, 4, dtype=torch.bool))
    assert moment[0, 0] < 0 < moment[0, 1]  # a early (negative), b late (positive)
    flipped = _time_moment(x.flip(1), torch.ones(1, 4, dtype=torch.bool))
    torch.testing.assert_close(flipped, -moment)
    shifted = torch.cat([torch.full((1, 2, 2), 5.0), x], 1)
    weights = torch.tensor([[0.0, 0.0, 1.0, 1.0, 1.0, 1.0]])
    torch.testing.assert_close(_time_moment(shifted, torch.ones(1, 6, dtype=torch.bool), weights), moment)
    longer = torch.stack([a, a, a, b, b, b])[None]  # the same order, stretched: about the same moment
    torch.testing.assert_close(_time_moment(longer, torch.ones(1, 6, dtype=torch.bool)), moment, rtol=0.05, atol=0)
    padded = torch.cat([x, torch.full((1, 2, 2), 9.0)], 1)  # padding is not a frame
    mask = torch.tensor([[True] * 4 + [False] * 2])
    torch.testing.assert_close(_time_moment(padded, mask), moment)


def test_mean_pooling_is_blind_to_order_and_temporal_pooling_is_not() -> None:
    torch.manual_seed(0)
    frames, counts = torch.randn(3, 5, 6), torch.tensor([5, 4, 3])
    tokens = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0], [5, 4, 3, 6, 0, 0, 0, 0]])
    for pooling in ("mean", "temporal"):
        model = DualEncoder(SPEC, dim=8, width=16, pooling=pooling).eval()
        with torch.no_grad():
            v, backwards = model.videos(frames, counts), model.videos(reverse_frames(frames, counts), counts)
            q = model.texts(tokens)
        assert v.shape == (3, model.dim) and q.shape == (2, model.dim)
        if pooling == "mean":
            torch.testing.assert_close(v.norm(dim=1), torch.ones(3))
            torch.testing.assert_close(q.norm(dim=1), torch.ones(2))
            torch.testing.assert_close(v, backwards, atol=1e-5, rtol=1e-5)
            continue
        assert model.dim == 16  # the content half and the order half
        for half in (v, q):  # content: a unit vector; order: inside the unit ball
            torch.testing.assert_close(half[:, :8].norm(dim=1), torch.ones(len(half)))
            assert (half[:, 8:].norm(dim=1) <= 1 + 1e-6).all()
        # played backwards, the content half is the same and the order half is not
        torch.testing.assert_close(v[:, :8], backwards[:, :8], atol=1e-5, rtol=1e-5)
        assert (v[:, 8:] - backwards[:, 8:]).abs().max() > 1e-3


def test_a_closed_gate_leaves_the_text_order_blind() -> None:
    """The order half of a text is scaled by its gate: a text whose gate is shut scores a video and the video
    played backwards alike (a bag of words: "kitchen slices simmers" states no order)."""
    torch.manual_seed(0)
    model = DualEncoder(SPEC, dim=8, width=16, text_layers=0, pooling="temporal").eval()
    with torch.no_grad():
        model.order_gate.weight.zero_()
        model.order_gate.bias.fill_(-30.0)
        frames, counts = torch.randn(4, 5, 6), torch.tensor([5, 5, 4, 3])
        q = model.texts(torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]]))
        forward = q @ model.videos(frames, counts).T
        backward = q @ model.videos(reverse_frames(frames, counts), counts).T
    torch.testing.assert_close(forward, backward, atol=1e-5, rtol=1e-5)


def test_time_order_loss_by_hand() -> None:
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=1)
    v = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.0, 1.0]]), dim=1)
    r = torch.nn.functional.normalize(torch.tensor([[0.2, 1.0], [1.0, 0.0]]), dim=1)
    tau = 0.1
    expected = 0.0
    for i in range(2):
        fwd, bwd = float(q[i] @ v[i]) / tau, float(q[i] @ r[i]) / tau
        expected += -math.log(math.exp(fwd) / (math.exp(fwd) + math.exp(bwd)))
    assert time_order_loss(q, v, r, tau).item() == pytest.approx(expected / 2, rel=1e-5)
    assert time_order_loss(q, v, v, tau).item() == pytest.approx(math.log(2), rel=1e-6)  # order-blind: log 2


def test_order_twins_share_a_split(tmp_path) -> None:
    """A twin and its original in one split: a test video's reversed twin is in the test catalogue (where the
    order decides an order query's grade), never a memorised training video."""
    from omegaconf import OmegaConf

    from framework.data.retrieval.datamodule import RetrievalDataModule
    from framework.data.synthetic.videos import generate, plan_videos

    source = {"_target_": "framework.data.synthetic.videos.generate", "n_videos": 400, "seed": 3}
    keys = {"name": "twins", "split": [0.7, 0.15, 0.15], "batch_size": 32, "eval_batch_size": 64, "max_tokens": 16}
    keys |= {"vocab_size": 500, "cache": False}
    data = RetrievalDataModule(OmegaConf.create({**source, **keys}), tmp_path, seed=3)
    data.prepare()
    frames = generate(400, seed=3).items["frames"]
    part_of = {}
    for p, name in enumerate(("train", "valid", "test")):
        for row in data.array(name, "frames"):
            part_of[row.tobytes()] = p
    part = np.array([part_of[f.tobytes()] for f in frames])
    _, _, twin_of, _ = plan_videos(400, seed=3)
    twins = np.flatnonzero(twin_of >= 0)
    assert len(twins) > 30
    assert (part[twins] == part[twin_of[twins]]).all()
    assert (part == 2).sum() > 30  # a real test split
