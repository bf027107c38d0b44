#!/usr/bin/env python
"""CTR benchmark: read + encode speed, training throughput per model, test quality, on Criteo-format data.

    python scripts/bench_ctr.py                         # 1.2M synthetic rows written as a DAC train.txt
    python scripts/bench_ctr.py --file /data/dac/train.txt --rows 1200000
    python scripts/bench_ctr.py --models dcn lr --epochs 1 --json bench.json

Preprocessing is timed cold (no cache): read the TSV, split, fit the vocabularies on train, encode all.
Training runs the real pipeline (`python run.py case=ad_click dataset=criteo ...`, cache warm) for one
epoch per model; throughput counts training batches only. The DCN row also reports the FLOPs per sample
(forward + backward of its dense layers) against this machine's float32 matrix-product rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_file(rows: int, path: Path) -> Path:
    from framework.data.formats.criteo import write_criteo
    from framework.data.synthetic.click_log import generate

    if not path.exists():
        print(f"writing {rows:,} synthetic rows in Criteo format to {path} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_criteo(generate(n_rows=rows), path)
    return path


def time_preprocessing(path: Path, rows: int, repeats: int) -> dict[str, float]:
    from framework.data.formats.criteo import read_criteo
    from framework.data.tabular.features import TabularEncoder
    from framework.data.tabular.table import split_sizes

    best: dict[str, float] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        table = read_criteo(str(path), max_rows=rows)
        t1 = time.perf_counter()
        encoder = TabularEncoder(min_count=10)
        encoder.fit(table, split_sizes(table.frame.height, [0.8, 0.1, 0.1])[0])
        encoder.transform(table)
        t2 = time.perf_counter()
        run = {"read_s": t1 - t0, "encode_s": t2 - t1, "total_s": t2 - t0}
        best = run if not best or run["total_s"] < best["total_s"] else best
    best["rows"] = table.frame.height
    return best


def dcn_flops_per_sample(n_cat: int, n_num: int, dim: int, cross_layers: int, hidden: list[int]) -> float:
    """Multiply-adds x 2 of DCN's dense layers, forward + backward (backward = 2x forward)."""
    d = n_cat * dim + n_num
    macs = cross_layers * 2 * d  # x.w, then x0 * s + b + x: ~2d per layer
    prev = d
    for h in hidden:
        macs += prev * h
        prev = h
    macs += d + prev  # head over [cross, deep]
    return 2.0 * macs * 3.0


def matmul_gflops(batch: int, d: int, h: int) -> float:
    import torch

    a, b = torch.randn(batch, d), torch.randn(d, h)
    for _ in range(3):
        a @ b
    n, start = 50, time.perf_counter()
    for _ in range(n):
        a @ b
    return 2.0 * batch * d * h * n / (time.perf_counter() - start) / 1e9


def train_model(model: str, path: Path, rows: int, epochs: int, batch: int, dim: int, workdir: Path) -> dict:
    from hydra.core.global_hydra import GlobalHydra

    from framework.cli import main

    run_dir = workdir / f"{model}-{time.time_ns()}"
    args = [
        "case=ad_click",
        f"model={model}",
        "dataset=criteo",
        f"dataset.path={path}",
        f"dataset.max_rows={rows}",
        f"dataset.batch_size={batch}",
        f"trainer.max_epochs={epochs}",
        "logger=none",
        "early_stopping=null",
        "trainer.enable_progress_bar=false",
        f"hydra.run.dir={run_dir}",
    ]
    if model != "lr":
        args.append(f"model.embedding_dim={dim}")
    GlobalHydra.instance().clear()
    try:
        main(args)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    record = json.loads((run_dir / "run.json").read_text())
    m = record["metrics"]
    return {
        "model": model,
        "samples_per_s": record["train_samples_per_s"],
        "test_auroc": m["test/auroc"],
        "test_log_loss": m["test/log_loss"],
        "test_nce": m["test/nce"],
        "parameters": record["parameters"],
        "fit_s": record["timings"].get("fit"),
        "serving_p99_ms": m.get("serving/p99_ms"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_200_000, help="rows to read (and to generate)")
    parser.add_argument("--file", type=Path, help="a DAC-format train file; default: generate one")
    parser.add_argument("--models", nargs="+", default=["lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="preprocessing timings (best is reported)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console()
    path = args.file or make_file(args.rows, ROOT / "bench_data" / f"criteo_synthetic_{args.rows}.txt")
    os.environ.setdefault("MLSD_CACHE_DIR", tempfile.mkdtemp(prefix="mlsd-bench-cache-"))
    os.environ.setdefault("MLSD_OUTPUT_DIR", tempfile.mkdtemp(prefix="mlsd-bench-out-"))

    prep = time_preprocessing(path, args.rows, args.repeats)
    console.print(
        f"read + encode {prep['rows']:,} rows: [bold]{prep['total_s']:.2f} s[/] "
        f"(read {prep['read_s']:.2f} s, encode {prep['encode_s']:.2f} s; best of {args.repeats})"
    )
    import torch

    results = [
        train_model(
            m, path, args.rows, args.epochs, args.batch_size, args.embedding_dim, Path(os.environ["MLSD_OUTPUT_DIR"])
        )
        for m in args.models
    ]
    d = 26 * args.embedding_dim + 13
    peak = matmul_gflops(args.batch_size, d, 256)
    flops = dcn_flops_per_sample(26, 13, args.embedding_dim, 3, [256, 128])
    table = Table(title=f"CTR training, {args.rows:,} rows, batch {args.batch_size}, {torch.get_num_threads()} threads")
    for col in ("model", "samples/s", "test AUC", "test log loss", "test NCE", "params", "serving p99 ms"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r["model"],
            f"{r['samples_per_s']:,.0f}",
            f"{r['test_auroc']:.4f}",
            f"{r['test_log_loss']:.4f}",
            f"{r['test_nce']:.4f}",
            f"{r['parameters']:,}",
            f"{r['serving_p99_ms']:.2f}",
        )
    console.print(table)
    summary = {"preprocessing": prep, "models": results, "matmul_gflops": peak, "dcn_flops_per_sample": flops}
    dcn = next((r for r in results if r["model"] == "dcn"), None)
    if dcn:
        bound = peak * 1e9 / flops
        summary["dcn_matmul_bound_samples_per_s"] = bound
        console.print(
            f"DCN dense FLOPs: {flops / 1e6:.2f} MFLOP/sample (fwd+bwd); matmul rate here {peak:.0f} GFLOP/s "
            f"-> bound {bound:,.0f} samples/s; measured {dcn['samples_per_s']:,.0f} = "
            f"{100 * dcn['samples_per_s'] / bound:.0f}% of it"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
