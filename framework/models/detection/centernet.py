"""CenterNet-style detector (Zhou et al., "Objects as Points", 2019) in plain torch, sized for CPUs.

An object is the peak of its class's heatmap at its centre, on a grid of stride 4; a box head gives at
every cell the distances from the cell's centre to the four sides of the object there (log cells: one
scale for 8 px and 64 px objects), as TTFNet and FCOS do, so a peak a cell off the centre still gives
the whole box. No anchors; duplicates are few (a 3x3 max-pool keeps local peaks) and NMS removes the rest
(framework.models.detection.decode; losses: framework.models.detection.losses).

Backbone: a stem and 1 + `depth` stages of stride 2 (4, 8, 16 for depth 2; 32 too for depth 3: a wider
view for large plates), each a strided 3x3 conv and `blocks` residual blocks, `width` x (1, 2, 4, ...)
channels; a light FPN adds each coarser map, projected and upsampled, to the next finer one down to the
stride-4 map, where the heads read. `width` is the detector size (experiment=blur_detector_size).

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

    def __init__(self, feature_spec: Any, width: int = 16, blocks: int = 1, depth: int = 2) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth (stages after stride 4) must be at least 1, got {depth}")
        self.num_classes = len(feature_spec.classes)
        self.stem = _conv(3, width // 2, 2)  # stride 2
        channels = [width * 2**i for i in range(depth + 1)]  # stride 4, 8, 16, ...
        self.stages = nn.ModuleList(
            _stage(c_in, c_out, blocks) for c_in, c_out in zip([width // 2, *channels[:-1]], channels, strict=True)
        )
        self.laterals = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels)
        self.merge = _conv(width, width)
        # heatmap bias: sigmoid(-2.19) = 0.1, CenterNet's start (most cells are background)
        self.heatmap = _head(width, self.num_classes, -2.19)
        self.box = _head(width, 4, 1.0)  # log distances: e^1 = 2.7 cells to start

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x, maps = self.stem(images), []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        # top-down: each coarser map, projected to `width` channels, upsampled and added to the next finer one
        top = self.laterals[-1](maps[-1])
        for lateral, fine in zip(reversed(self.laterals[:-1]), reversed(maps[:-1]), strict=True):
            top = F.interpolate(top, size=fine.shape[-2:], mode="nearest") + lateral(fine)
        features = self.merge(top)
        return {"heatmap": self.heatmap(features), "box": self.box(features)}
