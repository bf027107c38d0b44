"""The detection recipe: scenes -> a one-stage detector -> COCO AP/AR and privacy recall -> blurred images.

1. data: source -> checked boxes -> split -> letterboxed arrays (DetectionDataModule), before any tracker
2. model: the detector trains through Lightning (DetectionTask: focal heatmap + GIoU box loss, flips), checkpointed on
   the eval suite's monitored metric (validation privacy recall), the best checkpoint tested
3. evaluation: the suite on every validation epoch and on the test images (COCO mAP@[.5:.95], AP50, AR per
   class; privacy recall per class at <= 1 false positive per image, threshold picked on each split)
4. blurring, as the product runs: the score threshold that keeps the validation images within
   `detection.blur.max_fp_per_image` false positives, applied to the test images; their boxes mapped back
   to each image's own pixels and blurred (Pillow); `blurred/*.jpg`, `plots/blur_examples.png` (before |
   after), `detections.json` (COCO results format); the recall and false positives per image at that
   threshold (`blur/*`: an honest figure, the threshold was not tuned on the test images)
5. serving: per-image latency (normalise, network, decode, NMS) of one image at a time on CPU, vs budget
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torchmetrics import Metric

from framework.data import prepared
from framework.data.detection.datamodule import DetectionDataModule
from framework.metrics.detection import covered, false_positives, operating_threshold
from framework.serving.latency import request_latency
from framework.tasks.detection.blurring import before_after, blur_boxes
from framework.tasks.detection.module import DetectionTask, truths_of
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext, fit_and_test, fit_outcome, parameter_count
from framework.training.optimizers import optimizer_factories


def load_data(cfg: DictConfig) -> DetectionDataModule:
    """Read, check (boxes inside their image, with an area), split and letterbox, before any tracker starts."""
    return prepared(DetectionDataModule, cfg)


@torch.no_grad()
def predict(task: DetectionTask, data: DetectionDataModule, part: str, batch: int = 64) -> list[np.ndarray]:
    """Detections [n, 6] per image of a split, in input pixels, on the CPU."""
    task.eval()
    images = torch.from_numpy(data.part(part)["images"])
    out: list[np.ndarray] = []
    for start in range(0, len(images), batch):
        out += [d.numpy() for d in task.detect(images[start : start + batch])]
    return out


def _truths(data: DetectionDataModule, part: str) -> list[np.ndarray]:
    p = data.part(part)
    return [t.numpy() for t in truths_of(torch.from_numpy(p["boxes"]), torch.from_numpy(p["labels"]))]


def _blur_outcome(
    task: DetectionTask, data: DetectionDataModule, cfg: DictConfig, run_dir: Path, rank_zero: bool
) -> tuple[dict[str, float], dict[str, Any]]:
    """The product's operating point (threshold on validation), its figures on test, and the blurred images."""
    blur = cfg.detection.blur
    valid_threshold = operating_threshold(
        _predictions(task, data, "valid"), _truths(data, "valid"), blur.max_fp_per_image
    )
    preds, truths = _predictions(task, data, "test"), _truths(data, "test")
    metrics: dict[str, float] = {}
    fps = sum(
        int((false_positives(p, t) & (p[:, 4] > valid_threshold)).sum()) for p, t in zip(preds, truths, strict=True)
    )
    metrics["blur/fp_per_image"] = fps / max(1, len(preds))
    for n, name in enumerate(data.spec.classes):
        hits = np.concatenate(
            [
                covered(p, t, valid_threshold, margin=float(blur.margin))[t[:, 4] == n]
                for p, t in zip(preds, truths, strict=True)
            ]
        )
        metrics[f"blur/recall_{name}"] = float(hits.mean()) if len(hits) else float("nan")
    record: dict[str, Any] = {"threshold": valid_threshold, "max_fp_per_image": float(blur.max_fp_per_image)}
    if not rank_zero:
        return metrics, record
    scales = data.part("test")["scales"]
    count = len(preds) if blur.images is None else min(int(blur.images), len(preds))
    folder = run_dir / "blurred"
    folder.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    from framework.data.formats.coco import write_results

    pairs, own_pixels = [], []
    for j, p in enumerate(preds):
        boxes = p.copy()
        boxes[:, :4] /= scales[j]  # input pixels -> the image's own
        own_pixels.append(boxes)
        if j < count:
            original = data.original(j)
            kept = boxes[boxes[:, 4] > valid_threshold]
            after = blur_boxes(original, kept, float(blur.radius), float(blur.min_radius), float(blur.margin))
            Image.fromarray(after).save(folder / Path(data.file_names[j]).with_suffix(".jpg").name, quality=92)
            if len(pairs) < int(blur.examples):
                pairs.append((original, after))
    record.update(dir=str(folder), images=count, detections=str(write_results(run_dir / "detections.json", own_pixels)))
    if pairs:
        (run_dir / "plots").mkdir(exist_ok=True)
        Image.fromarray(before_after(pairs)).save(run_dir / "plots" / "blur_examples.png")
        record["examples"] = str(run_dir / "plots" / "blur_examples.png")
    return metrics, record


def _predictions(task: DetectionTask, data: DetectionDataModule, part: str) -> list[np.ndarray]:
    return predict(task.cpu(), data, part)


def _serving(task: DetectionTask, data: DetectionDataModule, cfg: DictConfig) -> dict[str, Any]:
    images = torch.from_numpy(data.part("test")["images"])
    task.cpu().eval()

    def request(i: int) -> None:
        with torch.inference_mode():
            task.detect(images[i % len(images) : i % len(images) + 1])

    size = data.spec.input_size
    return request_latency(request, cfg.case, f"one {size}x{size} image: network, peaks, NMS (CPU)")


def run_case(ctx: RunContext, data: DetectionDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    cfg = ctx.cfg
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    decoding = OmegaConf.to_container(cfg.detection.decode, resolve=True)
    task = DetectionTask(
        model,
        metrics,
        decoding,
        **optimizer_factories(
            OmegaConf.create(OmegaConf.to_container(cfg.optim, resolve=True))
        ),  # T_max: ${trainer...}
        monitor=f"val/{cfg.eval.monitor}",
        use_augment=bool(cfg.detection.augment),
        box_weight=float(cfg.detection.box_weight),
        seed=int(cfg.seed),
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    done = {**fit_outcome(ctx, result), "parameters": parameter_count(model)}
    with ctx.timer("blur"):
        blur_metrics, blur_record = _blur_outcome(task, data, cfg, ctx.run_dir, ctx.rank_zero)
    with ctx.timer("serving"):
        serving = _serving(task, data, cfg)
    out: dict[str, float] = done["metrics"]
    out.update(blur_metrics)
    out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult.from_outcome(
        done,
        str(cfg.eval.monitor),
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": data.spec.to_dict(),
            "parameters": done["parameters"],
            "blur": blur_record,
        },
    )
