"""Visual search's index: recall against exact search vs query latency, for each index and its knobs.

    python scripts/bench_visual_index.py --run <visual_search run dir> [--catalogue 50000] [--queries 1000]

The run's trained encoder embeds a catalogue of `--catalogue` images made by the run's generator (a new seed:
items the encoder never saw; a run on another dataset uses all of its images) and `--queries` near-duplicate
queries (catalogue images edited as the run's `contrastive.near_duplicate` says). For every index of the grid
— faiss Flat; IVF (nlist x nprobe); HNSW (M x efSearch) — through mlsd's wrapper (framework.serving.index):
build seconds, recall@10 against exact search, per-query latency one query at a time (p50, p99; the way a
service sees it) and batch throughput. The wrapper's overhead: the same HNSW searched through faiss directly,
one query at a time, p50 of both. Markdown on stdout, the curve in `--plot` (default docs/visual_index_curve.png).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.serving.index import (  # noqa: E402
    ExactIndex,
    FaissFlatIndex,
    FaissHNSWIndex,
    FaissIVFIndex,
    recall_against_exact,
)
from framework.serving.latency import measure_latency  # noqa: E402
from framework.tasks.contrastive_retrieval import images  # noqa: E402
from framework.tasks.contrastive_retrieval.config import settings  # noqa: E402
from framework.tasks.contrastive_retrieval.trained import load_trained  # noqa: E402

K = 10


def catalogue_images(cfg, data, n: int) -> np.ndarray:
    if str(cfg.dataset._target_).endswith("catalogue_images.generate"):
        from framework.data.synthetic.catalogue_images import generate

        per_class = max(1, -(-n // (int(cfg.dataset.n_classes) * int(cfg.dataset.views_per_item))))
        corpus = generate(
            n_classes=int(cfg.dataset.n_classes),
            items_per_class=per_class,
            views_per_item=int(cfg.dataset.views_per_item),
            image_size=int(cfg.dataset.image_size),
            seed=int(cfg.seed) + 1000,
        )
        return corpus.items["images"][:n]
    return np.concatenate([data.array(p, "images") for p in ("train", "valid", "test")])


def one_at_a_time(search, queries: np.ndarray, n: int) -> dict[str, float]:
    return measure_latency(lambda i: search(queries[i % len(queries)][None, :]), n, warmup=50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a finished visual_search run directory")
    parser.add_argument("--catalogue", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=500, help="timed one-at-a-time queries per index")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "visual_index_curve.png")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cfg, data, model = load_trained(args.run)
    pictures = catalogue_images(cfg, data, args.catalogue)
    start = time.perf_counter()
    with torch.no_grad():
        vectors = images.embed(model, pictures).numpy()
    embed_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    picked = rng.choice(len(pictures), min(args.queries, len(pictures)), replace=False)
    edit = images.augmentation(settings(cfg).near_duplicate)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        queries = model(edit(images.as_float(pictures[picked]), generator)).numpy()
    exact = ExactIndex()
    exact.build(vectors)
    _, truth = exact.search(queries, K)
    grid = [("faiss_flat", {}, FaissFlatIndex())]
    for nlist in (256, 1024):
        for nprobe in (1, 2, 4, 8, 16, 32, 64):
            grid.append(("faiss_ivf", {"nlist": nlist, "nprobe": nprobe}, FaissIVFIndex(nlist, nprobe)))
    for m in (16, 32):
        for ef in (16, 32, 64, 128, 256):
            grid.append(("faiss_hnsw", {"m": m, "ef_search": ef}, FaissHNSWIndex(m=m, ef_search=ef)))
    rows, built = [], {}
    for name, knobs, index in grid:
        key = (name, knobs.get("nlist"), knobs.get("m"))
        if key in built:  # same structure, another search knob: reuse the built index
            same = built[key]
            same.nprobe, same.ef_search = index.__dict__.get("nprobe"), index.__dict__.get("ef_search")
            if name == "faiss_ivf":
                same.index.nprobe = min(same.nprobe, same.nlist_used)
            index = same
        else:
            index.build(vectors)
            built[key] = index
        start = time.perf_counter()
        _, ids = index.search(queries, K)
        batch_s = time.perf_counter() - start
        latency = one_at_a_time(lambda q, ix=index: ix.search(q, K), queries, args.requests)
        rows.append(
            {
                "index": name,
                **knobs,
                "build_s": round(index.build_seconds, 3),
                "recall@10": recall_against_exact(ids, truth),
                "p50_ms": latency["p50_ms"],
                "p99_ms": latency["p99_ms"],
                "batch_queries_per_s": len(queries) / batch_s,
            }
        )
    hnsw = built[("faiss_hnsw", None, 32)]
    hnsw.ef_search = 128
    wrapped = one_at_a_time(lambda q: hnsw.search(q, K), queries, args.requests)
    hnsw.index.hnsw.efSearch = 128
    raw = one_at_a_time(
        lambda q: hnsw.index.search(np.ascontiguousarray(q, dtype=np.float32), K), queries, args.requests
    )
    overhead = {
        "wrapper_p50_ms": wrapped["p50_ms"],
        "faiss_p50_ms": raw["p50_ms"],
        "ratio": wrapped["p50_ms"] / raw["p50_ms"],
    }
    print(
        f"machine: {platform.machine()}, torch threads {torch.get_num_threads()}; catalogue {len(vectors)} x "
        f"{vectors.shape[1]} (embedded at {len(vectors) / embed_s:,.0f} images/s), {len(queries)} queries, k={K}\n"
    )
    print("| index | knobs | build s | recall@10 | p50 ms | p99 ms | batch queries/s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        knobs = ", ".join(f"{k} {r[k]}" for k in ("nlist", "nprobe", "m", "ef_search") if k in r) or "-"
        print(
            f"| {r['index']} | {knobs} | {r['build_s']:.2f} | {r['recall@10']:.3f} | {r['p50_ms']:.3f} | "
            f"{r['p99_ms']:.3f} | {r['batch_queries_per_s']:,.0f} |"
        )
    print(
        f"\nHNSW (M 32, efSearch 128) one query at a time: mlsd wrapper p50 {overhead['wrapper_p50_ms']:.3f} ms, "
        f"faiss directly {overhead['faiss_p50_ms']:.3f} ms (ratio {overhead['ratio']:.3f})"
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, marker in (("faiss_flat", "s"), ("faiss_ivf", "o"), ("faiss_hnsw", "^")):
        groups = sorted({(r.get("nlist"), r.get("m")) for r in rows if r["index"] == name}, key=str)
        for g in groups:
            pts = [r for r in rows if r["index"] == name and (r.get("nlist"), r.get("m")) == g]
            label = name + (f" nlist {g[0]}" if g[0] else "") + (f" M {g[1]}" if g[1] else "")
            ax.plot([p["p50_ms"] for p in pts], [p["recall@10"] for p in pts], marker=marker, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency per query, one at a time (ms, log)")
    ax.set_ylabel("recall@10 vs exact search")
    ax.set_title(f"visual search index: {len(vectors):,} catalogue vectors of dim {vectors.shape[1]}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    print(f"\nplot: {args.plot}")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "overhead": overhead}, indent=1))


if __name__ == "__main__":
    main()
