"""Image encoders for visual search: image [B, C, S, S] float in [0, 1] -> unit vector [B, dim].

CNNEncoder      `depth` blocks of (3x3 conv, batch norm, ReLU) x 2 + 2x2 max-pool, widths doubling from
                `width`; global average pool; a projection MLP to `dim` (SimCLR's head: the loss sees
                the projection, the index gets it too: one vector per image, cosine similarity). With
                `n_classes` it also has a classifier head on the embedding (loss=classifier trains it
                with cross-entropy; search cuts it off and uses the embedding before it).
RawPixels       no training: the image itself, centred per pixel on the catalogue and L2-normalised
                (the baseline a learned embedding must beat).
PCAEncoder      no training by gradient: the top `dim` principal components of the catalogue's pixels,
                whitened or not (fitted by `fit`, an SVD of the centred pixel matrix).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.retrieval.datamodule import RetrievalSpec


class CNNEncoder(nn.Module):
    tasks = ("contrastive_retrieval",)
    modality = "images"
    trainable = True

    def __init__(
        self, feature_spec: RetrievalSpec, dim: int = 64, width: int = 32, depth: int = 3, n_classes: int | None = None
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = feature_spec.in_channels
        for i in range(depth):
            out = width * 2**i
            for _ in range(2):
                layers += [
                    nn.Conv2d(channels, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                ]
                channels = out
            layers.append(nn.MaxPool2d(2) if i < depth - 1 else nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.projection = nn.Sequential(nn.Linear(channels, channels), nn.ReLU(inplace=True), nn.Linear(channels, dim))
        self.classifier = nn.Linear(dim, n_classes) if n_classes else None
        self.dim = dim

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Un-normalised embedding [B, dim] (what the classifier head reads)."""
        return self.projection(self.features(images * 2 - 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(images), dim=1)


class RawPixels(nn.Module):
    tasks = ("contrastive_retrieval",)
    modality = "images"
    trainable = False

    def __init__(self, feature_spec: RetrievalSpec) -> None:
        super().__init__()
        self.dim = feature_spec.in_channels * feature_spec.image_size**2
        self.register_buffer("mean", torch.zeros(self.dim))

    def fit(self, images: torch.Tensor) -> None:
        self.mean = images.flatten(1).mean(0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(images.flatten(1) - self.mean, dim=1)


class PCAEncoder(nn.Module):
    tasks = ("contrastive_retrieval",)
    modality = "images"
    trainable = False

    def __init__(self, feature_spec: RetrievalSpec, dim: int = 64, whiten: bool = False) -> None:
        super().__init__()
        pixels = feature_spec.in_channels * feature_spec.image_size**2
        if not 1 <= dim <= pixels:
            raise ValueError(f"PCA dim must be in 1..{pixels} (the pixels of an image), got {dim}")
        self.register_buffer("mean", torch.zeros(pixels))
        self.register_buffer("components", torch.zeros(pixels, dim))
        self.dim, self.whiten = dim, whiten

    def fit(self, images: torch.Tensor) -> None:
        x = images.flatten(1).double()
        self.mean = x.mean(0).float()
        _, s, vh = torch.linalg.svd(x - x.mean(0), full_matrices=False)
        k = min(self.dim, vh.shape[0])
        components = vh[:k].T
        if self.whiten:
            components = components / (s[:k] / (len(x) - 1) ** 0.5).clamp_min(1e-8)
        self.components = F.pad(components, (0, self.dim - k)).float()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize((images.flatten(1) - self.mean) @ self.components, dim=1)
