"""Street-view blurring: per-image latency by input resolution and detector size, and the resolution trade-off.

    python scripts/bench_blurring.py                                    # latency grid (untrained weights)
    python scripts/bench_blurring.py --runs outputs/multirun/street_view_blurring/blur_resolution/<stamp>
    python scripts/bench_blurring.py --by-size outputs/runs/street_view_blurring/centernet/<stamp>

Latency: one image at a time (batch 1), the way the run's serving figure is measured: normalise, network,
heatmap peaks, NMS; torch on `--threads` threads (2: the machine the goals are stated for), 20 warm-up
requests then `--requests` timed; p50 and p99 in ms. Weights do not change the arithmetic, so untrained
networks give the same latency (NMS sees at most top_k = 100 boxes either way).

With `--runs` (a multirun of experiment=blur_resolution, or any multirun of the case) it also plots
privacy recall per class (mean ± std over seeds, from each run.json) against the p50 latency of that
input size: `resolution_latency.png` in the multirun folder, and the table as markdown on stdout.

With `--by-size` (a run directory) it reloads that run's data (from the cache) and best checkpoint and
splits its test privacy recall by object size (sqrt of the box area in the scene's pixels), at the run's
own operating threshold (set on the validation images): where the misses are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.data.detection.datamodule import DetectionSpec  # noqa: E402
from framework.models.detection.centernet import CenterNet  # noqa: E402
from framework.models.detection.decode import decode  # noqa: E402
from framework.serving.latency import measure_latency  # noqa: E402
from framework.tasks.detection.module import to_input  # noqa: E402


def latency(size: int, width: int, requests: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = CenterNet(DetectionSpec(("face", "plate"), size), width=width).eval()
    image = torch.randint(0, 255, (1, size, size, 3), dtype=torch.uint8)

    def request(_: int) -> None:
        with torch.inference_mode():
            decode(net(to_input(image)), net.stride, 0.05, 100, 3, 0.5)

    stats = measure_latency(request, requests, warmup=20)
    return {"input_size": size, "width": width, "parameters": sum(p.numel() for p in net.parameters()), **stats}


def runs_table(folder: Path) -> dict[int, dict[str, list[float]]]:
    """input_size -> metric -> values over the finished runs of a multirun folder."""
    out: dict[int, dict[str, list[float]]] = {}
    for path in sorted(folder.glob("*/run.json")):
        record = json.loads(path.read_text())
        if record.get("status") != "finished":
            continue
        size = int(record["feature_spec"]["input_size"])
        for key in ("test/privacy_recall_face", "test/privacy_recall_plate", "test/map", "serving/p50_ms"):
            out.setdefault(size, {}).setdefault(key, []).append(float(record["metrics"][key]))
    return out


def by_size(run_dir: Path) -> list[dict]:
    """Test privacy recall per class and size bucket of one finished run, at its validation threshold."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from framework.data import prepared
    from framework.data.detection.datamodule import DetectionDataModule
    from framework.metrics.detection import covered
    from framework.tasks.detection.module import truths_of
    from framework.tasks.detection.recipe import predict

    record = json.loads((run_dir / "run.json").read_text())
    cfg = OmegaConf.create(record["config"])
    data = prepared(DetectionDataModule, cfg)
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    state = torch.load(record["checkpoints"]["best"], map_location="cpu", weights_only=False)["state_dict"]
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")})
    from framework.tasks.detection.module import DetectionTask

    task = DetectionTask(model, {}, OmegaConf.to_container(cfg.detection.decode), optimizer=None)  # type: ignore[arg-type]
    preds = predict(task, data, "test")
    part = data.part("test")
    truths = [t.numpy() for t in truths_of(torch.from_numpy(part["boxes"]), torch.from_numpy(part["labels"]))]
    threshold, margin = float(record["blur"]["threshold"]), float(cfg.detection.blur.margin)
    rows = []
    for n, name in enumerate(data.spec.classes):
        hits, sizes = [], []
        for j, (p, t) in enumerate(zip(preds, truths, strict=True)):
            keep = t[:, 4] == n
            hits.append(covered(p, t, threshold, margin=margin)[keep])
            sizes.append(np.sqrt((t[keep, 2] - t[keep, 0]) * (t[keep, 3] - t[keep, 1])) / part["scales"][j])
        hit, size = np.concatenate(hits), np.concatenate(sizes)
        for low, high in ((0, 12), (12, 16), (16, 24), (24, 32), (32, 1000)):
            inside = (size >= low) & (size < high)
            rows.append(
                {
                    "class": name,
                    "size": f"{low}-{high}",
                    "boxes": int(inside.sum()),
                    "recall": float(hit[inside].mean()) if inside.any() else float("nan"),
                }
            )
    return rows


def plot(grid: list[dict], table: dict[int, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p50 = {g["input_size"]: g["p50_ms"] for g in grid if g["width"] == 16}
    sizes = sorted(s for s in table if s in p50)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for key, label in (("test/privacy_recall_face", "faces"), ("test/privacy_recall_plate", "plates")):
        mean = [np.mean(table[s][key]) for s in sizes]
        std = [np.std(table[s][key], ddof=1) if len(table[s][key]) > 1 else 0.0 for s in sizes]
        ax.errorbar([p50[s] for s in sizes], mean, yerr=std, marker="o", capsize=3, label=label)
        for s, x, y in zip(sizes, [p50[s] for s in sizes], mean, strict=True):
            ax.annotate(f"{s}px", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("p50 latency per image, ms (batch 1, CPU)")
    ax.set_ylabel("privacy recall (test, <= 1 FP / image)")
    ax.set_title("Input resolution vs latency")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128])
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 24])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=Path, help="a multirun folder of the case (experiment=blur_resolution)")
    parser.add_argument("--by-size", type=Path, help="a finished run directory: its test recall by object size")
    parser.add_argument("--out", default="bench_blurring.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.by_size:
        rows = by_size(args.by_size)
        print("| class | size px | boxes | privacy recall |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['class']} | {r['size']} | {r['boxes']} | {r['recall']:.3f} |")
        Path(args.out).write_text(json.dumps({"by_size": rows}, indent=1))
        return
    grid = [latency(s, w, args.requests) for s in args.sizes for w in args.widths]
    print(f"per-image latency, batch 1, {args.threads} threads\n")
    print("| input | width | parameters | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for g in grid:
        print(f"| {g['input_size']} | {g['width']} | {g['parameters']:,} | {g['p50_ms']:.1f} | {g['p99_ms']:.1f} |")
    result: dict = {"threads": args.threads, "latency": grid}
    if args.runs:
        table = runs_table(args.runs)
        print(
            "\n| input | runs | privacy recall face | privacy recall plate | mAP | run's p50 ms |"
            "\n|---|---|---|---|---|---|"
        )
        for size in sorted(table):
            t = table[size]

            def ms(key: str, t: dict = t) -> str:
                v = t[key]
                return f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}"

            print(
                f"| {size} | {len(t['test/map'])} | {ms('test/privacy_recall_face')} | "
                f"{ms('test/privacy_recall_plate')} | {ms('test/map')} | {np.mean(t['serving/p50_ms']):.1f} |"
            )
        path = args.runs / "resolution_latency.png"
        plot(grid, table, path)
        result["runs"] = {str(k): v for k, v in table.items()}
        print(f"\nplot: {path}")
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
