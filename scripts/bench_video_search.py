"""Video search against its peers: BM25 (bm25s through mlsd vs rank-bm25), fusion and metrics (mlsd vs ranx).

    python scripts/bench_video_search.py --runs <run dir> [<run dir> ...]   # trained youtube_video_search runs

For each run (e.g. the default at seeds 1-5) on its test split, one process, side by side:
- BM25: mlsd's `BM25Search` (bm25s, method atire + Robertson IDF) vs rank-bm25's `BM25Okapi` on the same
  tokens and documents: the largest score difference, whether the top 10 agree, index and query seconds;
- fusion: mlsd's reciprocal rank fusion and weighted (min-max) fusion of the visual and text channels vs
  ranx's `fuse(method="rrf")` / `fuse(method="wsum", norm="min-max")`: the same lists? and the seconds;
- metrics: nDCG@10 (Burges gains), MRR@10, recall@10 of the fused lists, mlsd vs ranx's `evaluate`;
- the channels' test metrics (visual, text, fused) from the run's run.json: mean ± std over the runs.
Markdown on stdout; `--out` writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.metrics.search import GradedNDCGAtK  # noqa: E402
from framework.metrics.topk import MRRAtK, RecallAtK  # noqa: E402
from framework.search.bm25 import BM25Search  # noqa: E402
from framework.search.fusion import reciprocal_rank_fusion, weighted_score_fusion  # noqa: E402
from framework.search.tokens import tokenize_all  # noqa: E402
from framework.tasks.contrastive_retrieval.evaluation import evaluate_scores  # noqa: E402
from framework.tasks.contrastive_retrieval.trained import load_trained  # noqa: E402
from framework.tasks.contrastive_retrieval.videos import _dense, _top  # noqa: E402


def _seconds(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bm25_peer(documents: list[str], queries: list[str]) -> dict[str, float]:
    from rank_bm25 import BM25Okapi

    ours = BM25Search(method="atire", idf_method="robertson")
    _, index_s = _seconds(lambda: ours.index(documents))
    mine, query_s = _seconds(lambda: ours.scores(queries))
    peer, peer_index_s = _seconds(lambda: BM25Okapi(tokenize_all(documents)))
    tokens = tokenize_all(queries)
    theirs, peer_query_s = _seconds(lambda: np.stack([peer.get_scores(t) for t in tokens]))
    top = lambda s: np.argsort(-s, 1, kind="stable")[:, :10]  # noqa: E731
    return {
        "max_abs_diff": float(np.abs(mine - theirs).max()),
        "top10_equal": float((top(mine) == top(theirs)).all(1).mean()),
        "mlsd_index_s": index_s,
        "mlsd_query_s": query_s,
        "rank_bm25_index_s": peer_index_s,
        "rank_bm25_query_s": peer_query_s,
    }


def _run_dict(scores: np.ndarray, ids: np.ndarray) -> dict[str, dict[str, float]]:
    return {
        f"q{q}": {f"d{d}": float(s) for s, d in zip(scores[q], ids[q], strict=True) if d >= 0} for q in range(len(ids))
    }


def fusion_peer(visual: np.ndarray, text: np.ndarray, gains: np.ndarray, depth: int = 100) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate, fuse

    # BM25 ties (equal scores) are ordered by item id here and by ranx in its own order, which changes the ranks
    # RRF sums: a tiny id-ordered offset makes the order unique, so both fuse the same ranks
    text = np.where(text > 0, text - 1e-9 * np.arange(text.shape[1])[None, :] / text.shape[1], 0.0)
    channels = [_top(visual, depth), _top(np.where(text > 0, text, -np.inf), depth)]
    runs = [Run(_run_dict(*c), name=n) for c, n in zip(channels, ("visual", "text"), strict=True)]
    out: dict[str, float] = {}
    for method, ours_fn, peer_kw in (
        ("rrf", lambda: reciprocal_rank_fusion(channels, k=60, top=depth), {"method": "rrf", "params": {"k": 60}}),
        (
            "wsum",
            lambda: weighted_score_fusion(channels, weights=[0.5, 0.5], top=depth),
            {"method": "wsum", "norm": "min-max", "params": {"weights": [0.5, 0.5]}},
        ),
    ):
        (scores, ids), ours_s = _seconds(ours_fn)
        fused, peer_s = _seconds(lambda kw=peer_kw: fuse(runs=runs, **kw))
        same = same_scores = 0
        for q in range(len(ids)):
            theirs = sorted(fused[f"q{q}"].items(), key=lambda kv: (-kv[1], int(kv[0][1:])))[:10]
            mine = [(int(d), float(v)) for d, v in zip(ids[q][:10], scores[q][:10], strict=True) if d >= 0]
            same += [int(d[1:]) for d, _ in theirs] == [d for d, _ in mine][: len(theirs)]
            # ties: equal fused scores summed in another order differ in the last bits and swap places
            same_scores += np.allclose([v for _, v in theirs], [v for _, v in mine][: len(theirs)], rtol=0, atol=1e-9)
        out[f"{method}_top10_equal"] = same / len(ids)
        out[f"{method}_top10_scores_equal"] = same_scores / len(ids)
        out[f"{method}_mlsd_s"], out[f"{method}_ranx_s"] = ours_s, peer_s
        if method == "rrf":
            metrics = {"ndcg@10": GradedNDCGAtK(10), "mrr@10": MRRAtK(10), "recall@10": RecallAtK(10)}
            ours = evaluate_scores(
                metrics, torch.from_numpy(_dense((scores, ids), visual.shape[1])), torch.from_numpy(gains), None
            )
            qrels = Qrels(
                {f"q{q}": {f"d{d}": int(g) for d, g in enumerate(gains[q]) if g > 0} for q in range(len(gains))}
            )
            theirs = evaluate(qrels, Run(_run_dict(scores, ids)), ["ndcg_burges@10", "mrr@10", "recall@10"])
            for name, peer_name in (("ndcg@10", "ndcg_burges@10"), ("mrr@10", "mrr@10"), ("recall@10", "recall@10")):
                out[f"metric_{name}_diff"] = abs(ours[name] - theirs[peer_name])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="finished youtube_video_search run directories")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for run in args.runs:
        cfg, data, model = load_trained(run)
        documents, queries = data.texts("test", "doc"), data.texts("test", "query")
        with torch.no_grad():
            visual = (
                (
                    model.texts(torch.from_numpy(data.array("test", "query_tokens")))
                    @ model.videos(
                        torch.from_numpy(data.array("test", "frames")), torch.from_numpy(data.array("test", "counts"))
                    ).T
                )
                .double()
                .numpy()
            )
        text = BM25Search().index(documents).scores(queries).astype(np.float64)
        record = json.loads((Path(run) / "run.json").read_text())["metrics"]
        rows.append(
            {
                "run": str(run),
                "seed": int(cfg.seed),
                "bm25": bm25_peer(documents, queries),
                "fusion": fusion_peer(visual, text, data.array("test", "gains")),
                "channels": {k: v for k, v in record.items() if k.split("/")[1:2] in (["visual"], ["text"], ["fused"])},
            }
        )
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; runs: {len(rows)}\n"
    )

    def ms(values):
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"

    print("| channel | nDCG@10 | MRR@10 | recall@10 | median rank |\n|---|---|---|---|---|")
    for c in ("visual", "text", "fused"):
        cells = [
            ms([r["channels"][f"test/{c}/{m}"] for r in rows])
            for m in ("ndcg@10", "mrr@10", "recall@10", "median_rank")
        ]
        print(f"| {c} | " + " | ".join(cells) + " |")
    print("\n| peer check | value (mean over runs) |\n|---|---|")
    for part in ("bm25", "fusion"):
        for key in rows[0][part]:
            print(f"| {part}.{key} | {statistics.mean(r[part][key] for r in rows):.6g} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
