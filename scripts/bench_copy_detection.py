"""Visual search's near-duplicate detector at catalogue scale: quality, memory and per-query latency.

    python scripts/bench_copy_detection.py [--catalogue 1000 5000 10000] [--queries 500] [--seed 1]
        [--detector tiny_image_views_ivf] [--set copy_detection.tiny_size=16 ...]

For each catalogue size: that many synthetic product images (the embedded generator, one photo per item, so
only the query's own original counts), the detector of conf/copy_detection/<--detector> (default: the case's
tiny image over 100 reference views, exact search; `tiny_image_views_ivf`: the same through faiss IVF)
built over them, `--queries` edited copies of catalogue images (the
case's `contrastive.near_duplicate` edit) and as many edited images of another catalogue (distractors: no
original here). Reports recall@1, micro AP, build seconds, the index's memory and the latency of one query
at a time (p50, p99; describe + exact search over every view). The detector needs no training: no run dir.
Markdown on stdout.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.data.images.augment import to_float  # noqa: E402
from framework.data.synthetic.catalogue_images import generate  # noqa: E402
from framework.metrics.search import micro_average_precision  # noqa: E402
from framework.search.copy_detection import CopyIndex  # noqa: E402
from framework.serving.latency import measure_latency  # noqa: E402
from framework.tasks.contrastive_retrieval.images import augmentation, copy_index  # noqa: E402


def images(n: int, seed: int) -> torch.Tensor:
    corpus = generate(n_classes=24, items_per_class=-(-n // 24), views_per_item=1, image_size=32, seed=seed)
    return to_float(corpus.items["images"][:n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalogue", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--detector", default="tiny_image_views", help="a conf/copy_detection/*.yaml name")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", nargs="*", default=[], help="config overrides, e.g. copy_detection.tiny_size=16")
    parser.add_argument("--latency-requests", type=int, default=200)
    args = parser.parse_args()

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("run", overrides=["case=visual_search", f"copy_detection={args.detector}", *args.set])
    if cfg.copy_detection.descriptor != "tiny_image":
        sys.exit("this bench measures the tiny-image detector (the encoder needs a trained run)")
    edit = augmentation(OmegaConf.to_container(cfg.contrastive.near_duplicate))
    print(f"detector `{args.detector}`: {OmegaConf.to_container(cfg.copy_detection)}")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}\n")
    print("| catalogue | views | index MB | build s | recall@1 | micro AP | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.catalogue:
        catalogue = images(n, args.seed)
        generator = torch.Generator().manual_seed(args.seed)
        picked = torch.randperm(n, generator=generator)[: args.queries]
        n_queries = len(picked)
        queries = edit(catalogue[picked], generator)
        distractors = edit(images(args.queries, args.seed + 1000), generator)
        index = copy_index(torch.nn.Identity(), cfg)  # the tiny image: no encoder
        start = time.perf_counter()
        index.build(catalogue)
        build_s = time.perf_counter() - start
        scores, ids = index.search(queries, 1)
        lure, _ = index.search(distractors, 1)
        correct = ids[:, 0] == picked
        recall = float(correct.float().mean())
        wrong = torch.zeros(len(lure), dtype=torch.bool)
        best = torch.cat([scores[:, 0], lure[:, 0]])
        micro_ap = micro_average_precision(best, torch.cat([correct, wrong]), n_queries)

        def one(i: int, index: CopyIndex = index, queries: torch.Tensor = queries) -> None:
            index.search(queries[i % len(queries)][None], 1)

        latency = measure_latency(one, args.latency_requests)
        mb = index.bytes_per_image * len(index) / 2**20
        print(
            f"| {n:,} | {index.views} | {mb:,.0f} | {build_s:.2f} | {recall:.4f} | {micro_ap:.4f} | "
            f"{latency['p50_ms']:.2f} | {latency['p99_ms']:.2f} |"
        )


if __name__ == "__main__":
    main()
