"""Serving throughput and latency of an exported ad click model, per backend (torch eager, torch.export,
ONNX Runtime), in-process on this machine's CPU:

    python scripts/bench_serving.py                        # trains a short DCN run on the embedded log first
    python scripts/bench_serving.py --run-dir outputs/...  # an existing ad click run
    python scripts/bench_serving.py --model deepfm --candidates 100 --requests 500
    python scripts/bench_serving.py --video-run-dir outputs/video   # a video recommendation run's latency only

1. export the run (all backends) to <run dir>/serving;
2. batch prediction: the embedded click log's test split (100,000 raw rows of the default 1M-row log)
   written to Parquet, then `predict_file` per backend (read, check, encode, score, write CSV): rows/s;
3. per-request latency: one request = one user context (I1..I13, C1..C13 of a test row, shared) + N
   candidate ads (C14..C26 of N test rows), from Python dicts through `request_frame`, the encoder and the
   backend, one request at a time after a warm-up; p50/p99, and the model's share alone (pre-encoded).
Also the largest |score - eager torch score| per backend on the whole test split. The short training run
(1 epoch, 200 batches) is enough: throughput does not depend on how well the model fits. Each backend is
measured in a process of its own; the load average printed says how busy the (shared) machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.deployment.export import export_run  # noqa: E402
from framework.serving.artifact import BACKENDS, read_artifact  # noqa: E402
from framework.serving.backends import load_scorer  # noqa: E402
from framework.serving.batch import predict_file  # noqa: E402
from framework.serving.encode import RowEncoder, request_frame  # noqa: E402
from framework.serving.latency import measure_latency  # noqa: E402


def train(model: str, run_dir: Path) -> Path:
    args = ["case=ad_click", f"model={model}", "trainer.max_epochs=1", "trainer.limit_train_batches=200", "logger=none"]
    command = [
        sys.executable,
        str(ROOT / "run.py"),
        *args,
        "trainer.enable_progress_bar=false",
        f"hydra.run.dir={run_dir}",
    ]
    print("training:", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return run_dir


def test_rows(run_dir: Path):
    """The raw test split of the run's dataset, as its source gives it."""
    from hydra.utils import get_method
    from omegaconf import OmegaConf

    from framework.data.tabular.datamodule import _NOT_SOURCE_ARGS
    from framework.data.tabular.table import split_sizes

    cfg = OmegaConf.load(run_dir / "config_resolved.yaml").dataset
    args = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in _NOT_SOURCE_ARGS}
    frame = get_method(str(cfg._target_))(**args).frame
    n_train, n_valid, n_test = split_sizes(frame.height, list(cfg.split))
    return frame.slice(n_train + n_valid, n_test)


def measure(artifact_dir: Path, source: Path, backend: str, candidates: int, n_requests: int) -> dict:
    """One backend's numbers (run in a process of its own: thread pools of the other backends, which
    spin after work, must not compete with it)."""
    import torch

    artifact = read_artifact(artifact_dir)
    encoder, scorer = RowEncoder(artifact.encoder), load_scorer(artifact, backend)
    with tempfile.TemporaryDirectory() as tmp:
        batch = predict_file(scorer, encoder, source, Path(tmp) / "scores.csv")
    rows = pl.read_parquet(source)
    dicts = rows.select(encoder.columns).to_dicts()
    context_columns = [*encoder.numeric, *encoder.categorical[:13]]
    ad_columns = [c for c in encoder.columns if c not in context_columns]
    starts = np.random.default_rng(0).integers(0, len(dicts) - candidates, size=n_requests + 20)

    def request(i: int) -> tuple[dict, list[dict]]:
        block = dicts[int(starts[i]) : int(starts[i]) + candidates]
        return {c: block[0][c] for c in context_columns}, [{c: r[c] for c in ad_columns} for r in block]

    requests = [request(i) for i in range(len(starts))]
    pre_encoded = [encoder.encode(request_frame(*r)) for r in requests[:50]]
    end_to_end = measure_latency(lambda i: scorer.score(encoder.encode(request_frame(*requests[i]))), n_requests)
    model_only = measure_latency(lambda i: scorer.score(pre_encoded[i % 50]), n_requests)
    encoded = encoder.encode(rows)
    return {
        "batch": batch,
        "request": {"candidates": candidates, "end_to_end": end_to_end, "model_only": model_only},
        "scores": scorer.score(encoded).tolist(),
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
    }


def video_latency(run_dir: Path, n_requests: int) -> None:
    """p50/p99 of one video recommendation request (user -> stage 1 -> K candidates -> ranker -> top 10)."""
    from framework.deployment.two_stage import Recommender

    artifact = read_artifact(export_run(run_dir))
    n_users, k = artifact.manifest["n_users"], artifact.manifest["candidates"]
    users = np.random.default_rng(0).integers(0, n_users, size=n_requests + 20)
    print(f"\nvideo: {n_users} users, {artifact.manifest['n_items']} items, K={k} candidates, top 10")
    print("| backend | request p50 / p99 ms |\n|---|---:|")
    for backend in BACKENDS:
        recommender = Recommender(artifact, backend)
        stats = measure_latency(lambda i, r=recommender: r.recommend(int(users[i]), 10), n_requests)
        print(f"| {backend} | {stats['p50_ms']:.2f} / {stats['p99_ms']:.2f} |  (load average {os.getloadavg()[0]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, help="an ad click run (default: train one under outputs/)")
    parser.add_argument("--model", default="dcn", help="the model of the run trained when --run-dir is not given")
    parser.add_argument("--candidates", type=int, default=100, help="candidate ads per request")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per backend")
    parser.add_argument("--out", type=Path, help="write every number as JSON here")
    parser.add_argument("--video-run-dir", type=Path, help="also: recommend() latency of this video run's export")
    parser.add_argument("--child", nargs=2, metavar=("INPUT", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.video_run_dir:
        video_latency(args.video_run_dir, args.requests)
        if not args.run_dir:
            return
    if args.child:  # one backend, in this process: print its numbers as JSON
        print(
            json.dumps(
                measure(args.run_dir / "serving", Path(args.child[0]), args.child[1], args.candidates, args.requests)
            )
        )
        return
    run_dir = args.run_dir or train(args.model, ROOT / "outputs" / "bench_serving" / args.model)
    artifact = read_artifact(export_run(run_dir))
    rows = test_rows(run_dir)
    results: dict = {"run_dir": str(run_dir), "model": artifact.manifest["model"], "test_rows": rows.height}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "test.parquet"
        rows.write_parquet(source)
        for backend in BACKENDS:
            command = [sys.executable, __file__, "--run-dir", str(run_dir), "--child", str(source), backend]
            command += ["--candidates", str(args.candidates), "--requests", str(args.requests)]
            done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
            results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    reference = np.asarray(results["torch"]["scores"])
    for backend in BACKENDS:
        scores = np.asarray(results[backend].pop("scores"))
        results[backend]["max_abs_diff_vs_eager"] = float(np.abs(scores - reference).max())

    print(f"\n{results['model']} on {rows.height} test rows, {args.candidates} candidates per request; {time.ctime()}")
    print(
        "| backend | batch rows/s | read / encode / score / write s | request p50 / p99 ms | model-only p50 / p99 ms |"
    )
    print("|---|---:|---|---:|---:|")
    for backend in BACKENDS:
        r = results[backend]
        stages = " / ".join(f"{v:.2f}" for v in r["batch"]["stage_seconds"].values())
        e2e, mo = r["request"]["end_to_end"], r["request"]["model_only"]
        print(
            f"| {backend} | {r['batch']['rows_per_s']:,.0f} | {stages} | {e2e['p50_ms']:.2f} / {e2e['p99_ms']:.2f} "
            f"| {mo['p50_ms']:.3f} / {mo['p99_ms']:.3f} |"
        )
    print("max |score - eager|: " + ", ".join(f"{b} {results[b]['max_abs_diff_vs_eager']:.3g}" for b in BACKENDS))
    print(
        "torch threads "
        + str(results["torch"]["torch_threads"])
        + "; load average during each backend: "
        + ", ".join(f"{b} {results[b]['load_average'][0]:.2f}" for b in BACKENDS)
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
