"""The config node of the detection kind and its checks (read before any heavy import).

detection.decode   heatmap peaks -> boxes: score floor, top k per image, peak window, NMS IoU threshold, flip testing
detection.blur     how the run blurs the test images (Gaussian, per box) and how many it writes
detection.augment  random horizontal flips and brightness in training
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig

from framework.checks import Problems, check_dataclass, number_at, value_of


@dataclass
class DecodeConfig:
    score_threshold: float = 0.05  # detections below are dropped (COCO AP wants a low floor)
    top_k: int = 100  # peaks kept per image before NMS
    peak_kernel: int = 3  # 3: 3x3 local maxima (CenterNet); 1: every cell, NMS alone removes duplicates
    nms_iou: float = 0.5  # a box is dropped above this IoU with a better one of its class; 1.0 = no NMS
    flip_test: bool = False  # average the outputs of the image and its mirror (CenterNet's flip testing): 2x cost


@dataclass
class BlurConfig:
    images: int | None = 20  # test images written blurred to <run dir>/blurred (null: all)
    examples: int = 4  # of which before/after pairs in plots/blur_examples.png
    radius: float = 0.25  # Gaussian radius as a share of the box's shorter side ...
    min_radius: float = 2.0  # ... at least this many pixels
    margin: float = 0.1  # each box widened by this share of its width / height on every side before blurring
    max_fp_per_image: float = 1.0  # the operating point: score threshold set on the validation images


@dataclass
class DetectionConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    blur: BlurConfig = field(default_factory=BlurConfig)
    augment: bool = True
    box_weight: float = 1.0  # loss weight of the box regression (GIoU; the heatmap's focal loss weighs 1)


@dataclass
class DetectionDatasetKeys:
    input_size: int | None = None  # the model's square input (pixels); images are letterboxed to it


SCHEMAS = {"detection": DetectionConfig}
DATASET_SCHEMA = DetectionDatasetKeys

RANGES = {
    "detection.decode.score_threshold": (0.0, 1.0),
    "detection.decode.nms_iou": (0.0, 1.0),
    "detection.blur.radius": (0.0, 10.0),
    "detection.blur.margin": (0.0, 1.0),
}


def check(cfg: DictConfig, problems: Problems) -> None:
    """`detection` is required; thresholds in range; the input size a multiple of 16 (three stride-2 stages
    after the stem), so the heatmap grid lines up with the pixels."""
    if cfg.get("detection") is None:
        problems.add(f"Case '{value_of(cfg.case, 'name')}' is a detection case and needs 'detection'.")
        return
    check_dataclass(cfg.detection, DetectionConfig, "detection", problems)
    for key, (low, high) in RANGES.items():
        value = number_at(cfg, key)
        if value is not None and not low <= value <= high:
            problems.add(f"'{key}' must be in [{low}, {high}], got {value}.")
    for key in ("detection.decode.top_k", "detection.decode.peak_kernel", "detection.blur.examples"):
        value = number_at(cfg, key)
        if value is not None and value < (0 if key.endswith("examples") else 1):
            problems.add(f"'{key}' must be at least {0 if key.endswith('examples') else 1}, got {value}.")
    kernel = number_at(cfg, "detection.decode.peak_kernel")
    if kernel is not None and kernel % 2 == 0:
        problems.add(f"'detection.decode.peak_kernel' must be odd (a window centred on the cell), got {kernel}.")
    size = number_at(cfg, "dataset.input_size")
    if size is not None and (size < 32 or size % 16):
        problems.add(f"'dataset.input_size' must be a multiple of 16, at least 32 (the detector's stride), got {size}.")


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    """No `_target_` node of its own."""
    return []
