"""CenterNet-style detector (Zhou et al., "Objects as Points", 2019) in plain torch, sized for CPUs.

An object is the peak of its class's heatmap at its centre, on a grid of stride 4; a box head gives at
every cell the distances from the cell's centre to the four sides of the object there (log cells: one
scale for 8 px and 64 px objects), as TTFNet and FCOS do, so a peak a cell off the centre still gives
the whole box. No anchors; duplicates are few (a 3x3 max-pool keeps local peaks) and NMS removes the rest
(framework.models.detection.decode; losses: framework.models.detection.losses).

Backbone: a stem and three stages of stride 2 (4, 8, 16), each a strided 3x3 conv and `blocks` residual
blocks, `width` x (1, 2, 4) channels; a light FPN adds the stride-16 and stride-8 maps, upsampled, to the
stride-4 map, where the heads read. `width` is the detector size (the preset compares 16, 24, 32).

    net = CenterNet(spec, width=24)     # spec: framework.data.detection.datamodule.DetectionSpec
    out = net(images)                   # images [B, 3, S, S] float, normalised
    out["heatmap"]  [B, C, S/4, S/4] logits; out["box"]  [B, 4, S/4, S/4] log distances (l, t, r, b)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _stage(c_in: int, c_out: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(_conv(c_in, c_out, 2), *(_Residual(c_out) for _ in range(blocks)))


def _head(width: int, out: int, bias: float = 0.0) -> nn.Sequential:
    last = nn.Conv2d(width, out, 1)
    nn.init.constant_(last.bias, bias)
    return nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(inplace=True), last)


class CenterNet(nn.Module):
    tasks = ("detection",)
    stride = 4

    def __init__(self, feature_spec: Any, width: int = 24, blocks: int = 1) -> None:
        super().__init__()
        self.num_classes = len(feature_spec.classes)
        self.stem = _conv(3, width // 2, 2)  # stride 2
        self.s4 = _stage(width // 2, width, blocks)
        self.s8 = _stage(width, 2 * width, blocks)
        self.s16 = _stage(2 * width, 4 * width, blocks)
        self.lat8, self.lat16 = nn.Conv2d(2 * width, width, 1), nn.Conv2d(4 * width, width, 1)
        self.lat4 = nn.Conv2d(width, width, 1)
        self.merge = _conv(width, width)
        # heatmap bias: sigmoid(-2.19) = 0.1, CenterNet's start (most cells are background)
        self.heatmap = _head(width, self.num_classes, -2.19)
        self.box = _head(width, 4, 1.0)  # log distances: e^1 = 2.7 cells to start

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x4 = self.s4(self.stem(images))
        x8 = self.s8(x4)
        x16 = self.s16(x8)
        up = F.interpolate(self.lat16(x16), size=x8.shape[-2:], mode="nearest") + self.lat8(x8)
        features = self.merge(F.interpolate(up, size=x4.shape[-2:], mode="nearest") + self.lat4(x4))
        return {"heatmap": self.heatmap(features), "box": self.box(features)}
