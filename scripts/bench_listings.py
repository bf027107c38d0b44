"""Similar listings against gensim's Word2Vec and two baselines, on the same sessions per seed.

    pip install -e '.[bench]'   # gensim, the peer (not a dependency of mlsd)
    python scripts/bench_listings.py [--seeds 1 2 3 4 5] [--epochs 5] [--dim 32] [--window 3] [--repeats 3]

Per seed: the embedded listing sessions (a new log per seed) are cleaned and split once by mlsd's data
module; then
- gensim `Word2Vec(sg=1, negative=5, window, vector_size, epochs, min_count=1, sample=0, workers=2)` on
  the training sessions as sentences (its skip-gram with negative sampling: the speed and quality
  reference), scored by mlsd's evaluation;
- mlsd's skip-gram through `python run.py case=similar_listings` with the same dimension, window,
  negatives and epochs, first as plain skip-gram (no global context, no market negatives, no early
  stopping: what gensim does), the same with `skipgram.negative_sampling=shared` (random negatives drawn
  once per chunk of 2,048 pairs, one matrix product per chunk) and with `skipgram.negative_sampling=expected`
  (the negatives' expectation instead of draws), all served by cosine as gensim's vectors are, then as the
  case's default (both of the paper's additions, in-out similarity, early stopping);
- popularity and session co-visitation (item-kNN over sessions), which need no training.
Quality: the booked listing's MRR and mean rank within its market, next-click HR@20 / MRR@20 (test
sessions). Time: training wall time (gensim: `train`; mlsd: `fit_s`, the fit phase, which also runs a
validation evaluation per epoch and Lightning's loop, and `train_s`, the training steps alone: pairs x
epochs / the run's training samples per second). Mean ± std over seeds; differences to gensim paired by
seed (the compare report's statistics). Writes markdown to stdout and every number to --out (JSON).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from framework.compare.stats import mean_std, paired_comparison  # noqa: E402
from framework.data.sessions.datamodule import SessionDataModule  # noqa: E402
from framework.metrics.ranks import HitAtRank, MeanRank, MRRAtRank  # noqa: E402
from framework.models.embedding.baselines import Popularity, SessionCoVisitation  # noqa: E402
from framework.models.embedding.skipgram import EmbeddingScorer  # noqa: E402
from framework.tasks.session_embedding.evaluation import evaluate  # noqa: E402

METRICS = ["booking_mrr", "booking_mean_rank", "next_hr@20", "next_mrr@20"]


def suite() -> dict:
    return {
        "booking_mrr": MRRAtRank("booking"),
        "booking_mean_rank": MeanRank("booking"),
        "next_hr@20": HitAtRank("next_click", 20),
        "next_mrr@20": MRRAtRank("next_click", 20),
    }


def gensim_run(data: SessionDataModule, args: argparse.Namespace, seed: int) -> dict:
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise SystemExit("gensim is the peer of this benchmark: pip install -e '.[bench]'") from None

    train = data.parts["train"]
    starts = np.r_[train.starts(), len(train.item)]
    sentences = [[str(i) for i in train.item[a:b]] for a, b in itertools.pairwise(starts)]
    model = Word2Vec(
        vector_size=args.dim, window=args.window, sg=1, negative=5, min_count=1, sample=0, workers=2, seed=seed
    )
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    fit_s = time.perf_counter() - start
    vectors = np.zeros((data.spec.n_items, args.dim), dtype=np.float32)
    for item in range(data.spec.n_items):
        if str(item) in model.wv:
            vectors[item] = model.wv[str(item)]
    unit = torch.nn.functional.normalize(torch.from_numpy(vectors), dim=1)
    values = evaluate(suite(), EmbeddingScorer(unit, unit), data.parts["test"], data.item_features.get("market"))
    return {**values, "fit_s": fit_s, "train_s": fit_s}


def mlsd_run(seed: int, args: argparse.Namespace, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, str(ROOT / "run.py"), "case=similar_listings", f"seed={seed}", "logger=none"]
        command += ["trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}", f"model.embedding_dim={args.dim}"]
        command += [f"skipgram.window={args.window}", "skipgram.negatives=5", *extra]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        record = json.loads((Path(run_dir) / "run.json").read_text())
    train_s = record["data"]["training_pairs"] * record["epochs"] / record["train_samples_per_s"]
    metrics = {k: record["metrics"][f"test/{k}"] for k in METRICS}
    return {**metrics, "fit_s": record["timings"].get("fit", float("nan")), "train_s": train_s}


def repeated(run: Callable[[], dict], repeats: int) -> dict:
    """The first run's metrics with the median of each time over `repeats` runs (a shared machine's
    timings vary by a third from run to run; the median of a few is stable)."""
    results = [run() for _ in range(repeats)]
    times = {k: float(np.median([r[k] for r in results])) for k in ("fit_s", "train_s")}
    return {**results[0], **times}


def one_seed(args: argparse.Namespace, seed: int) -> dict:
    cfg = OmegaConf.load(ROOT / "conf" / "dataset" / "listing_sessions_synthetic.yaml")
    cfg.seed = seed  # the dataset's `${seed}`, resolved here outside a run
    data = SessionDataModule(cfg, tempfile.mkdtemp(), seed)
    data.prepare()
    market, train, test = data.item_features.get("market"), data.parts["train"], data.parts["test"]
    same_epochs = [f"trainer.max_epochs={args.epochs}", "early_stopping=null"]
    # plain: gensim's objective and its serving (cosine of the v vectors), like for like
    plain = [*same_epochs, "skipgram.global_context=false", "skipgram.market_negatives=0", "model.similarity=cosine"]
    out = {
        "gensim_word2vec": repeated(lambda: gensim_run(data, args, seed), args.repeats),
        "mlsd_skipgram_plain": repeated(lambda: mlsd_run(seed, args, plain), args.repeats),
        "mlsd_skipgram_plain_shared": repeated(
            lambda: mlsd_run(seed, args, [*plain, "skipgram.negative_sampling=shared"]), args.repeats
        ),
        "mlsd_skipgram_plain_expected": repeated(
            lambda: mlsd_run(seed, args, [*plain, "skipgram.negative_sampling=expected"]), args.repeats
        ),
        "mlsd_skipgram_default": repeated(lambda: mlsd_run(seed, args, []), args.repeats),
    }
    for name, model in (
        ("popularity", Popularity(data.spec)),
        ("session_covisitation", SessionCoVisitation(data.spec)),
    ):
        out[name] = evaluate(suite(), model.scorer(train), test, market)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--window", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per method and seed (median time)")
    parser.add_argument("--out", default="bench_listings.json")
    args = parser.parse_args()
    runs = {}
    for seed in args.seeds:
        runs[seed] = one_seed(args, seed)
        print(f"seed {seed}: " + ", ".join(f"{m} {v['booking_mrr']:.4f}" for m, v in runs[seed].items()), flush=True)
    methods = list(runs[args.seeds[0]])
    print("\n| method | " + " | ".join(METRICS) + " | fit s | train s |")
    print("|---" * (len(METRICS) + 3) + "|")
    for method in methods:
        cells = []
        for metric in [*METRICS, "fit_s", "train_s"]:
            mean, std = mean_std([runs[s][method].get(metric, float("nan")) for s in args.seeds])
            cells.append(f"{mean:.4f} ± {std:.4f}" if not metric.endswith("_s") else f"{mean:.2f} ± {std:.2f}")
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("\nDifference to gensim_word2vec, paired by seed (mean [95% bootstrap interval], t-test p):")
    for method in methods[1:]:
        for metric in ("booking_mrr", "next_mrr@20", "fit_s", "train_s"):
            if metric not in runs[args.seeds[0]][method]:
                continue
            c = paired_comparison(
                {s: runs[s]["gensim_word2vec"][metric] for s in args.seeds},
                {s: runs[s][method][metric] for s in args.seeds},
            )
            if c is not None:
                print(f"  {method} {metric}: {c.mean_diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] p={c.p_value:.3f}")
    print("\nTraining time over gensim's, per seed then mean ± std:")
    for method in methods[1:]:
        if "train_s" in runs[args.seeds[0]][method]:
            ratio = [runs[s][method]["train_s"] / runs[s]["gensim_word2vec"]["train_s"] for s in args.seeds]
            mean, std = mean_std(ratio)
            print(f"  {method}: {mean:.2f}x ± {std:.2f} (" + ", ".join(f"{r:.2f}" for r in ratio) + ")")
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "args": vars(args), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
