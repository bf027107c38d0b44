"""Retrieval quality and training time on MovieLens 100K: mlsd's models against RecBole's BPR, same split.

    python scripts/bench_retrieval.py --path ../shared/data/movielens-100k \\
        [--recbole-python /path/to/venv-with-recbole/bin/python] [--models mf two_tower] [--seeds 1 2 3 4 5]

Protocol (RecBole's standard one): every rating is a positive (implicit feedback); each user's
interactions are shuffled and cut 8:1:1 into train / valid / test (framework.data.interactions.splits.split_random,
RecBole's rounding); every user is ranked against all 1,682 items, excluding the items of earlier
splits (train for valid, train + valid for test); Recall@k, NDCG@k, ... averaged over users with a
test item; the best epoch is chosen on validation NDCG@20 and tested once.

mlsd runs through `python run.py case=video_recommendation dataset=movielens_100k ranker=none`
(stage 1 only); RecBole is given the very same split as atomic files (`benchmark_filename`).
"Fit" is the wall time of training including the per-epoch validation that early stopping needs.
With several seeds (each its own split and initialisation, shared by every framework), the table gives
mean ± std per model and each mlsd model's difference from RecBole's BPR, paired by seed, with the
compare report's statistics (`framework.compare.stats.paired_comparison`: exact paired bootstrap 95%
interval and paired t-test; "better"/"worse" only when both agree).
Writes markdown tables to stdout and all numbers to --out (JSON).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.compare.stats import mean_std, paired_comparison  # noqa: E402
from framework.data.formats.movielens import read_movielens_100k  # noqa: E402
from framework.data.interactions.splits import split_interactions  # noqa: E402
from framework.data.interactions.table import encode_interactions  # noqa: E402

DATASET = "ml100k_mlsd"
# The tuned mlsd settings per model (also what BENCHMARKS.md reports); any run.py override can be added.
MODELS = {
    "mf": ["model=mf"],
    "two_tower": ["model=two_tower"],
}


def write_split(path: str, seed: int, out_dir: Path) -> dict[str, int]:
    encoded = encode_interactions(read_movielens_100k(path), None)
    part = split_interactions(encoded.user, encoded.timestamp, "random", [0.8, 0.1, 0.1], seed)
    folder = out_dir / DATASET
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for code, name in enumerate(("train", "valid", "test")):
        rows = part == code
        lines = ["user_id:token\titem_id:token\ttimestamp:float"]
        lines += [
            f"{u + 1}\t{i + 1}\t{t}"
            for u, i, t in zip(encoded.user[rows], encoded.item[rows], encoded.timestamp[rows], strict=True)
        ]
        (folder / f"{DATASET}.{name}.inter").write_text("\n".join(lines) + "\n")
        sizes[name] = int(rows.sum())
    return sizes


def run_recbole(python: str, data_dir: Path, seed: int) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [
            python,
            str(ROOT / "scripts" / "recbole_bpr.py"),
            "--data-dir",
            str(data_dir),
            "--dataset",
            DATASET,
            "--seed",
            str(seed),
        ],
        capture_output=True,
        text=True,
        cwd=data_dir,
    )
    if done.returncode != 0:
        raise SystemExit(f"RecBole failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    return result


def run_mlsd(model: str, path: str, seed: int, extra: list[str], out_dir: Path) -> dict:
    run_dir = out_dir / f"mlsd-{model}"
    args = [
        sys.executable,
        str(ROOT / "run.py"),
        "case=video_recommendation",
        "dataset=movielens_100k",
        f"dataset.path={path}",
        "ranker=none",
        "logger=none",
        "trainer.enable_progress_bar=false",
        f"seed={seed}",
        f"hydra.run.dir={run_dir}",
        *MODELS[model],
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(
        args, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "MLSD_CACHE_DIR": str(out_dir / "cache")}
    )
    if done.returncode != 0:
        raise SystemExit(f"mlsd {model} failed:\n{done.stderr[-3000:]}")
    record = json.loads((run_dir / "run.json").read_text())
    m = record["metrics"]
    return {
        "framework": "mlsd",
        "model": model,
        "command": " ".join(["python", "run.py", *args[2:]]),
        "fit_seconds": round(record["timings"]["fit_retrieval"], 2),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "epochs": record["stages"]["retrieval"]["epochs"] + 1,
        "test": {k.split("/")[-1]: v for k, v in m.items() if k.startswith("retrieval/test/")},
    }


KEYS = ["recall@10", "ndcg@10", "recall@20", "ndcg@20", "precision@20", "hit@20", "mrr@20"]


def run_seed(args: argparse.Namespace, seed: int) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        sizes = write_split(args.path, seed, out_dir)
        print(f"split (seed {seed}): {sizes}", file=sys.stderr)
        for model in args.models:
            results.append(run_mlsd(model, args.path, seed, args.extra, out_dir))
            print(f"mlsd {model}: {results[-1]['test']}", file=sys.stderr)
        if args.recbole_python:
            results.append(run_recbole(args.recbole_python, out_dir, seed))
            print(f"RecBole BPR: {results[-1]['test']}", file=sys.stderr)
    return [{**r, "seed": seed} for r in results]


def summary(results: list[dict]) -> str:
    """mean ± std per (framework, model) over seeds; mlsd models against RecBole's BPR, paired by seed."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["framework"], r["model"]), []).append(r)
    reference = next((g for (framework, _), g in groups.items() if framework.startswith("RecBole")), None)
    lines = [
        "| framework | model | seeds | " + " | ".join(KEYS) + " | fit s | epochs |",
        "|---|---|---|" + "---|" * (len(KEYS) + 2),
    ]
    for (framework, model), runs in groups.items():
        cells = []
        for k in KEYS:
            mean, std = mean_std([r["test"][k] for r in runs if k in r["test"]])
            cells.append(f"{mean:.4f} ± {std:.4f}" if len(runs) > 1 else f"{mean:.4f}")
        fit, _ = mean_std([r["fit_seconds"] for r in runs])
        epochs, _ = mean_std([r["epochs"] for r in runs])
        lines.append(f"| {framework} | {model} | {len(runs)} | " + " | ".join(cells) + f" | {fit:.1f} | {epochs:.0f} |")
    if reference is not None and len(reference) > 1:
        header = "| mlsd model | metric | Δ vs RecBole BPR, mean [95% CI] | p | verdict |"
        lines += ["", header, "|---|---|---|---|---|"]
        base = {k: {r["seed"]: r["test"][k] for r in reference} for k in ("recall@20", "ndcg@20", "ndcg@10")}
        for (framework, model), runs in groups.items():
            if framework != "mlsd":
                continue
            for k, by_seed in base.items():
                c = paired_comparison(by_seed, {r["seed"]: r["test"][k] for r in runs})
                if c is None:
                    continue
                verdict = ("better" if c.mean_diff > 0 else "worse") if c.significant else "n.s."
                interval = f"{c.mean_diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
                lines.append(f"| {model} | {k} | {interval} | {c.p_value:.3f} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", required=True, help="the unpacked ml-100k folder")
    parser.add_argument("--recbole-python", help="python of an environment with recbole installed")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="one split per seed")
    parser.add_argument("--out", default="outputs/bench_retrieval.json")
    parser.add_argument("extra", nargs="*", help="run.py overrides for the mlsd runs, e.g. trainer.max_epochs=30")
    args = parser.parse_args()

    results = [r for seed in args.seeds for r in run_seed(args, seed)]
    print(summary(results))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "results": results}, indent=1))


if __name__ == "__main__":
    main()
