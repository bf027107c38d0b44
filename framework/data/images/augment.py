"""SimCLR-style image augmentations in plain torch, on a whole batch at once (no torchvision, no per-image loop).

    augment = Augment(crop_scale=(0.5, 1.0), flip=0.5, jitter_p=0.8, grayscale_p=0.2)
    views = augment(to_float(images_uint8_nhwc), generator)     # float [B, C, H, W] in [0, 1]

In order, each with its own per-image random draws from `generator` (drawn on the CPU: the same views on
any device, and the same for the same generator state):
1. random resized crop (Chen et al. 2020): a box of `crop_scale` x the area and `crop_ratio` aspect, at a
   random place, resized to the full image; a horizontal flip with probability `flip` — both as one affine
   map per image, applied by `affine_grid` + `grid_sample` (bilinear) in one batched call;
2. colour jitter with probability `jitter_p`: brightness, contrast and saturation factors drawn from
   [1 - x, 1 + x], and a hue turn of up to `hue` of a full circle (a rotation of the YIQ chroma plane: cheap
   and vectorised, close to torchvision's HSV shift for small turns); saturation and hue skipped for grey
   images;
3. grayscale with probability `grayscale_p` (ITU-R 601 luma, kept in every channel);
4. Gaussian blur with probability `blur_p`, sigma in `blur_sigma` (a separable kernel of radius
   ceil(2 x the largest sigma), one per image: a grouped convolution);
5. additive Gaussian noise of sd `noise_sd`; the result clamped to [0, 1].
All probabilities 0 and a crop of scale (1, 1), ratio (1, 1) give the input back. Every step draws its
numbers whether or not it is on, so one setting's change leaves the other steps' draws as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [B, H, W, C] -> float [B, C, H, W] in [0, 1]."""
    x = torch.as_tensor(images)
    return x.permute(0, 3, 1, 2).float().div(255.0).contiguous()


def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x * w).sum(1, keepdim=True)


@dataclass
class Augment:
    crop_scale: tuple[float, float] = (0.5, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.0
    grayscale_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    noise_sd: float = 0.0

    def __post_init__(self) -> None:
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale}")
        if not 0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            raise ValueError(f"crop_ratio must be positive and ordered, got {self.crop_ratio}")
        for name in ("flip", "jitter_p", "grayscale_p", "blur_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability, got {getattr(self, name)}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1] (a factor in [1 - x, 1 + x]), got {getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5] (a share of the colour circle), got {self.hue}")
        if not 0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ValueError(f"blur_sigma must be positive and ordered, got {self.blur_sigma}")
        if self.noise_sd < 0:
            raise ValueError(f"noise_sd must be >= 0, got {self.noise_sd}")

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b = len(images)

        def uniform(low: float, high: float) -> torch.Tensor:
            return (torch.rand(b, generator=generator) * (high - low) + low).to(images.device)

        def happens(p: float) -> torch.Tensor:
            return (torch.rand(b, generator=generator) < p).to(images.device)

        x = self._crop_flip(images, uniform, happens)
        jitter = happens(self.jitter_p)[:, None, None, None]
        gain = uniform(1 - self.brightness, 1 + self.brightness)[:, None, None, None]
        jittered = x * gain
        mean = _grey(jittered).mean((2, 3), keepdim=True)
        jittered = (jittered - mean) * uniform(1 - self.contrast, 1 + self.contrast)[:, None, None, None] + mean
        saturation = uniform(1 - self.saturation, 1 + self.saturation)[:, None, None, None]
        turn = uniform(-self.hue, self.hue) * (2 * math.pi)
        if x.shape[1] == 3:
            grey = _grey(jittered)
            jittered = grey + (jittered - grey) * saturation
            if self.hue > 0:
                jittered = _turn_hue(jittered, turn)
        x = torch.where(jitter, jittered.clamp(0, 1), x)
        x = torch.where(happens(self.grayscale_p)[:, None, None, None], _grey(x).expand_as(x), x)
        blur, sigma = happens(self.blur_p)[:, None, None, None], uniform(*self.blur_sigma)
        if self.blur_p > 0:
            x = torch.where(blur, self._blur(x, sigma), x)
        if self.noise_sd > 0:
            noise = torch.randn(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
            x = x + self.noise_sd * noise
        return x.clamp(0, 1)

    def _crop_flip(self, x: torch.Tensor, uniform, happens) -> torch.Tensor:
        """One affine map per image: the crop box (scale, aspect, place) and the flip, then bilinear sampling."""
        scale = uniform(*self.crop_scale)
        log_ratio = uniform(math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1]))
        ratio = torch.exp(log_ratio)
        w = torch.sqrt(scale * ratio).clamp(max=1.0)  # box width / height as shares of the image's
        h = torch.sqrt(scale / ratio).clamp(max=1.0)
        cx = uniform(0.0, 1.0) * (1 - w) * 2 - (1 - w)  # box centre in [-1, 1] coordinates, inside the image
        cy = uniform(0.0, 1.0) * (1 - h) * 2 - (1 - h)
        sign = torch.where(happens(self.flip), -1.0, 1.0)
        theta = torch.zeros(len(x), 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
        theta[:, 1, 1], theta[:, 1, 2] = h, cy
        if self.crop_scale == (1.0, 1.0) and self.crop_ratio == (1.0, 1.0) and self.flip == 0:
            return x
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    @staticmethod
    def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Separable 5-tap Gaussian with a sigma per image (grouped convolution over images x channels)."""
        b, c, h, w = x.shape
        # radius 2 sigma (95% of the mass), and less than the image (reflect padding needs it)
        r = max(1, min(math.ceil(2 * float(sigma.max())), h - 1, w - 1))
        taps = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-(taps[None, :] ** 2) / (2 * sigma.to(x.dtype)[:, None] ** 2))
        kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [b * c, 2r + 1]
        flat = x.reshape(1, b * c, h, w)
        flat = F.conv2d(F.pad(flat, (r, r, 0, 0), mode="reflect"), kernel[:, None, None, :], groups=b * c)
        flat = F.conv2d(F.pad(flat, (0, 0, r, r), mode="reflect"), kernel[:, None, :, None], groups=b * c)
        return flat.reshape(b, c, h, w)


def _turn_hue(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """RGB [B, 3, H, W] with the chroma (I, Q of YIQ) turned by `angle` [B] radians; luma kept."""
    to_yiq = torch.tensor(RGB_TO_YIQ, dtype=x.dtype, device=x.device)
    cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    turn = torch.zeros(len(x), 3, 3, dtype=x.dtype, device=x.device)
    turn[:, 0, 0] = 1
    turn[:, 1, 1], turn[:, 1, 2], turn[:, 2, 1], turn[:, 2, 2] = cos, -sin, sin, cos
    matrix = torch.linalg.inv(to_yiq) @ turn @ to_yiq  # [B, 3, 3]: RGB -> YIQ, turn, -> RGB
    return torch.einsum("bij,bjhw->bihw", matrix, x)
