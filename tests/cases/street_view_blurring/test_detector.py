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
