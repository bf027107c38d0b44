"""People you may know against its peers, on one split per seed shared by every method.

    python scripts/bench_pymk.py --path ../shared/data/snap-ego-facebook/facebook_combined.txt [--seeds 1 2 3 4 5]
    python scripts/bench_pymk.py --embedded [--seeds 1 2 3 4 5]

Per seed: the dataset (SNAP: a seeded 85/5/10 edge hold-out; --embedded: a new generated graph, temporal
split) is split once by mlsd's data module, then
- heuristics: mlsd's sparse scores of every test pair (held-out friendships + shared negatives) against
  networkx's functions on the same pairs: the largest difference, and the time of each (speed-up);
- PyG's own link-prediction recipe (examples/link_pred.py, adapted to a feature-less graph as the stack
  notes describe: learnable node embeddings, two SAGEConv layers, dot-product decoder, fresh
  `negative_sampling` every epoch, BCE, Adam 0.01, 100 full-batch epochs, no early stopping), scored by
  mlsd's evaluation (the same candidates, lists and metrics);
- mlsd's node2vec (`model=node2vec`: DeepWalk walks, skip-gram, cosine) and its GNN (early stopping on
  validation Recall@10) through `python run.py case=people_you_may_know ...`.
Table: mean ± std over seeds per method; differences to resource allocation paired by seed with the
compare report's statistics (exact paired bootstrap 95% interval, paired t-test).
Writes markdown to stdout and every number to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from framework.compare.stats import mean_std, paired_comparison  # noqa: E402
from framework.data.graph.datamodule import GraphDataModule  # noqa: E402
from framework.data.graph.structure import GraphStructure  # noqa: E402
from framework.metrics.pairs import HitsAtK, PairAUROC  # noqa: E402
from framework.metrics.topk import MAPAtK, RecallAtK  # noqa: E402
from framework.models.graph.heuristics import HeuristicScorer, pair_scores  # noqa: E402
from framework.models.graph.node2vec import VectorScorer  # noqa: E402
from framework.tasks.link_prediction.evaluation import evaluate  # noqa: E402

MEASURES = ["resource_allocation", "adamic_adar", "jaccard", "preferential_attachment", "common_neighbours"]
METRICS = ["recall@10", "map@10", "auc", "hits@50"]


def suite() -> dict:
    return {"recall@10": RecallAtK(10), "map@10": MAPAtK(10), "auc": PairAUROC(), "hits@50": HitsAtK(50)}


def networkx_scores(graph, measure: str, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    import networkx as nx

    pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
    if measure == "common_neighbours":
        return np.array([len(list(nx.common_neighbors(graph, u, v))) for u, v in pairs], dtype=float)
    function = {
        "resource_allocation": nx.resource_allocation_index,
        "adamic_adar": nx.adamic_adar_index,
        "jaccard": nx.jaccard_coefficient,
        "preferential_attachment": nx.preferential_attachment,
    }[measure]
    return np.array([p for _, _, p in function(graph, pairs)], dtype=float)


def pyg_recipe(structure: GraphStructure, seed: int, epochs: int = 100) -> tuple[VectorScorer, float]:
    """PyG's examples/link_pred.py on a feature-less graph: embeddings -> 2 x SAGEConv -> dot."""
    from torch_geometric.nn import SAGEConv
    from torch_geometric.utils import negative_sampling

    torch.manual_seed(seed)
    n = structure.n_nodes

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(n, 128)
            self.conv1, self.conv2 = SAGEConv(128, 128), SAGEConv(128, 64)

        def forward(self, edge_index: torch.Tensor) -> torch.Tensor:
            return self.conv2(self.conv1(self.emb.weight, edge_index).relu(), edge_index)

    model, edge_index = Net(), structure.edge_index
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        h = model(edge_index)
        neg = negative_sampling(edge_index, num_nodes=n, num_neg_samples=edge_index.shape[1])
        pairs = torch.cat([edge_index, neg], dim=1)
        labels = torch.cat([torch.ones(edge_index.shape[1]), torch.zeros(neg.shape[1])])
        logits = (h[pairs[0]] * h[pairs[1]]).sum(1)
        torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
        optimizer.step()
    fit_s = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        return VectorScorer(model(edge_index)), fit_s


def mlsd_model(dataset_args: list[str], seed: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        args = [sys.executable, str(ROOT / "run.py"), "case=people_you_may_know", *dataset_args, f"seed={seed}"]
        args += ["logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}", *extra]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        record = json.loads((Path(run_dir) / "run.json").read_text())
    m = record["metrics"]
    return {**{k: m[f"test/{k}"] for k in METRICS}, "fit_s": record["timings"].get("fit", float("nan"))}


def one_seed(cfg, dataset_args: list[str], seed: int, extra: list[str]) -> dict:
    import networkx as nx

    data = GraphDataModule(cfg, tempfile.mkdtemp(), seed)
    data.prepare()
    split = data.split
    structure = GraphStructure.from_edges(split.graph.src, split.graph.dst, data.spec.n_nodes, data.node_features)
    valid, test, negatives = split.held_out["valid"], split.held_out["test"], split.negatives["test"]
    graph = nx.Graph()
    graph.add_nodes_from(range(structure.n_nodes))
    graph.add_edges_from(zip(split.graph.src.tolist(), split.graph.dst.tolist(), strict=True))
    src, dst = np.concatenate([test.src, negatives.src]), np.concatenate([test.dst, negatives.dst])
    out: dict[str, dict] = {}
    for measure in MEASURES:
        t0 = time.perf_counter()
        ours = pair_scores(structure, measure, src, dst)
        t1 = time.perf_counter()
        reference = networkx_scores(graph, measure, src, dst)
        t2 = time.perf_counter()
        values = evaluate(
            suite(), HeuristicScorer(structure, measure), structure, test, negatives, "friends_of_friends", valid
        )
        out[measure] = {
            **values,
            "max_abs_diff_vs_networkx": float(np.abs(ours - reference).max()),
            "mlsd_s": t1 - t0,
            "networkx_s": t2 - t1,
            "pairs": len(src),
        }
    scorer, fit_s = pyg_recipe(structure, seed)
    out["pyg_recipe"] = {
        **evaluate(suite(), scorer, structure, test, negatives, "friends_of_friends", valid),
        "fit_s": fit_s,
    }
    out["mlsd_node2vec"] = mlsd_model(dataset_args, seed, ["model=node2vec"])
    out["mlsd_graph_sage"] = mlsd_model(dataset_args, seed, extra)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", help="a SNAP edge list (e.g. facebook_combined.txt)")
    parser.add_argument("--embedded", action="store_true", help="the embedded generator instead of a file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--gnn-args", nargs="*", default=[], help="extra run.py overrides for mlsd's GNN")
    parser.add_argument("--out", default="bench_pymk.json")
    args = parser.parse_args()
    if args.embedded:
        cfg = OmegaConf.load(ROOT / "conf" / "dataset" / "social_graph_synthetic.yaml")
        dataset_args: list[str] = []
    elif args.path:
        cfg = OmegaConf.load(ROOT / "conf" / "dataset" / "snap.yaml")
        cfg.path = str(Path(args.path).resolve())
        dataset_args = ["dataset=snap", f"dataset.path={cfg.path}"]
    else:
        raise SystemExit("give --path <SNAP edge list> or --embedded")
    runs = {}
    for seed in args.seeds:
        if args.embedded:
            cfg.seed = seed  # the dataset's `${seed}`, resolved here outside a run
        runs[seed] = one_seed(cfg, dataset_args, seed, args.gnn_args)
        print(f"seed {seed}: " + ", ".join(f"{m} {v['recall@10']:.4f}" for m, v in runs[seed].items()), flush=True)
    methods = list(runs[args.seeds[0]])
    print("\n| method | " + " | ".join(METRICS) + " | fit s | vs networkx |")
    print("|---" * (len(METRICS) + 3) + "|")
    for method in methods:
        cells = []
        for metric in METRICS:
            mean, std = mean_std([runs[s][method][metric] for s in args.seeds])
            cells.append(f"{mean:.4f} ± {std:.4f}")
        fit = mean_std([runs[s][method].get("fit_s", float("nan")) for s in args.seeds])[0]
        speed = ""
        if "networkx_s" in runs[args.seeds[0]][method]:
            ratio = np.mean([runs[s][method]["networkx_s"] / runs[s][method]["mlsd_s"] for s in args.seeds])
            diff = max(runs[s][method]["max_abs_diff_vs_networkx"] for s in args.seeds)
            speed = f"{ratio:.0f}x faster, max diff {diff:.1e}"
        print(f"| {method} | " + " | ".join(cells) + f" | {fit:.1f} | {speed} |")
    print("\nDifference to resource_allocation, paired by seed (mean [95% bootstrap interval], t-test p):")
    for method in methods[1:]:
        for metric in ("recall@10", "map@10"):
            c = paired_comparison(
                {s: runs[s]["resource_allocation"][metric] for s in args.seeds},
                {s: runs[s][method][metric] for s in args.seeds},
            )
            if c is not None:
                print(f"  {method} {metric}: {c.mean_diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] p={c.p_value:.3f}")
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "runs": runs}, indent=1, default=str))


if __name__ == "__main__":
    main()
