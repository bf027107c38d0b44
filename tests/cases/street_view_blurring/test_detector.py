"""The detector's shape contract: heads on the stride-4 grid whatever the depth; depth adds a coarser stage."""

from __future__ import annotations

import pytest
import torch

from framework.data.detection.datamodule import DetectionSpec
from framework.models.detection.centernet import CenterNet

SPEC = DetectionSpec(("face", "plate"), 64)


def _parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_depth_adds_a_coarser_stage_and_keeps_the_output_grid() -> None:
    torch.manual_seed(0)
    shallow, deep = CenterNet(SPEC, width=8, depth=2), CenterNet(SPEC, width=8, depth=3)
    images = torch.randn(2, 3, 64, 64)
    for net in (shallow, deep):
        out = net.eval()(images)
        assert out["heatmap"].shape == (2, 2, 16, 16) and out["box"].shape == (2, 4, 16, 16)
    assert len(deep.stages) == 4 and len(shallow.stages) == 3
    assert _parameters(deep) > 3 * _parameters(shallow)  # the stride-32 stage has 8 x width channels


def test_the_coarsest_stage_reaches_the_heads() -> None:
    """Top-down merging: a change in the stride-32 map alone changes the heatmap (it is not left unused)."""
    torch.manual_seed(0)
    net = CenterNet(SPEC, width=8, depth=3).eval()
    images = torch.randn(1, 3, 64, 64)
    before = net(images)["heatmap"]
    with torch.no_grad():
        net.laterals[-1].bias.add_(1.0)
    assert not torch.allclose(before, net(images)["heatmap"])


def test_depth_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="depth"):
        CenterNet(SPEC, width=8, depth=0)


def test_flip_testing_is_mirror_symmetric_and_averages_both_views() -> None:
    """flip_averaged: a mirrored image gives the mirrored outputs (left and right distances swapped), so its
    detections are the mirrored boxes; and it is the mean of the plain and the mirrored passes."""
    from framework.models.detection.decode import decode, flip_averaged

    torch.manual_seed(0)
    net = CenterNet(SPEC, width=8, depth=2).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out, mirror = flip_averaged(net, images), flip_averaged(net, images.flip(-1))
        plain = net(images)
    torch.testing.assert_close(mirror["heatmap"], out["heatmap"].flip(-1), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(mirror["box"], out["box"].flip(-1)[:, [2, 1, 0, 3]], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out["heatmap"], plain["heatmap"], atol=1e-3)  # not the plain pass alone
    # the mean of the two probabilities, mapped back to logits
    flipped = net(images.flip(-1))
    expected = (torch.sigmoid(plain["heatmap"]) + torch.sigmoid(flipped["heatmap"]).flip(-1)) / 2
    torch.testing.assert_close(torch.sigmoid(out["heatmap"]), expected, atol=1e-5, rtol=1e-5)
    decoding = {"score_threshold": 0.0, "top_k": 20, "peak_kernel": 3, "nms_iou": 0.5}
    [boxes] = decode({k: v[:1] for k, v in out.items()}, net.stride, **decoding)
    [mirrored] = decode({k: v[:1] for k, v in mirror.items()}, net.stride, **decoding)
    expected_boxes = torch.stack([64 - boxes[:, 2], boxes[:, 1], 64 - boxes[:, 0], boxes[:, 3]], 1)
    order = lambda b: b[torch.argsort(b[:, 0] * 1000 + b[:, 1])]  # noqa: E731 - same set, any order
    torch.testing.assert_close(order(mirrored[:, :4]), order(expected_boxes), atol=1e-3, rtol=1e-4)
