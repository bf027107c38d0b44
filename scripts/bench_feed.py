"""Personalized news feed: mlsd's multi-task models against DeepCTR-Torch 0.3.0's, on one split per seed.

    pip install -e '.[bench]'   # deepctr-torch==0.3.0, the peer (it brings scikit-learn)
    python scripts/bench_feed.py [--seeds 1 2 3 4 5] [--models shared_bottom mmoe ple] [--epochs 10]
    python scripts/bench_feed.py --task-correlation 0.2       # less related tasks (dataset.task_correlation)
    python scripts/bench_feed.py --monitor mean_auroc         # epochs chosen by the mean task AUC, both sides
    python scripts/bench_feed.py --quick                      # 1 seed, 4,000 rows, 1 epoch: does it run

Tasks: the five reactions (click, like, comment, share, hide), all binary. Dwell time is left out: it is
observed on clicked rows only and DeepCTR cannot mask unobserved labels (mlsd runs with
`multi_task.tasks=[click,like,comment,share,hide]` and without the dwell metrics of eval=feed).

Per seed the embedded generator's world (`dataset=feed_synthetic`, `${seed}` resolved as a run does) is
split by time and encoded once by mlsd's FeedDataModule; DeepCTR trains on those identical arrays: each
categorical column a `SparseFeat(name, vocabulary_size=cardinality, embedding_dim)`, each standardised
numeric column a `DenseFeat(name, 1)`. Per model (mlsd's `model=` yaml and DeepCTR's class):
- shared_bottom / SharedBottom: bottom [128, 64], a [32] tower per task;
- mmoe / MMOE: 4 experts [64], a linear softmax gate per task (DeepCTR `gate_dnn_hidden_units=()`), towers [32];
- ple / PLE: 2 levels, experts [32], linear gates, towers [32], 1 shared + 1 specific expert per task and
  level on BOTH sides (mlsd's yaml has 2 shared + 1 specific; DeepCTR 0.3.0 builds `specific_expert_num`
  shared experts, so more shared than specific experts raises IndexError; 1 + 1 is the nearest shape that
  builds correctly, and mlsd gets the same override);
both with embedding_dim 8, ReLU, dropout 0, no L2 (DeepCTR's l2_reg_embedding / l2_reg_linear / l2_reg_dnn
set to 0), Adam at the case's lr (0.003), the dataset's batch size (1024), the same number of epochs (the
case's trainer.max_epochs, 10, or --epochs; mlsd with `early_stopping=null`), trained on the device mlsd's
default hardware=cpu uses (the CPU). Epoch selection is the same: mlsd tests the checkpoint of its best
validation nDCG@10; DeepCTR is fitted one epoch per `fit` call, scored on the validation split after each,
and its best state (strictly better nDCG@10, as Lightning's checkpoint) is tested. `--monitor mean_auroc`
selects by the mean of the five reactions' validation ROC-AUCs instead, on both sides (mlsd:
`eval.monitor=mean_auroc`): a criterion that reads every head, for comparing per-task AUCs.
mlsd runs through `python run.py case=personalized_news_feed ...` (its own loop, checkpoints, logging);
its numbers come from run.json.

Known differences left as each library has them: DeepCTR's initialisation (weights ~ N(0, 1e-4), its
init_std default) against PyTorch's; its gate layers have no bias; its loss sums the per-row BCE over the
batch (mlsd averages; Adam is almost invariant to that scale).

Metrics, on the test split, computed by the same code for both (framework.metrics.feed): ROC-AUC per task
(`OnTask(task, BinaryAUROC())`), the feed's nDCG@10 (`FeedNDCG(10)`: each request's rows sorted by the
engagement score sum_t w_t * P_t with the case's engagement weights, gains max(0, sum_t w_t y_t)) and the
share of hidden posts in each feed's top 10 (`TopShare("hide", 10)`). Training time: seconds per epoch,
wall clock, training only: DeepCTR's `model.fit` calls; mlsd's training rows / its training throughput
(run.json `train_samples_per_s`, mlsd's ThroughputMonitor: training batches only, validation excluded; the
whole fit, validation and checkpoints included, `timings.fit`, is in --out).
Table: mean ± std over seeds; mlsd minus DeepCTR paired by seed per model (the compare report's statistics:
exact paired bootstrap 95% interval, paired t-test). Writes markdown to stdout and every number to --out (JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import numpy as np
import torch
from torchmetrics.classification import BinaryAUROC

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from framework.compare.stats import mean_std, paired_comparison  # noqa: E402
from framework.data.feed.datamodule import FeedDataModule  # noqa: E402
from framework.metrics.feed import FeedNDCG, FeedOutputs, OnTask, TopShare  # noqa: E402

CASE = "personalized_news_feed"
TASKS = ["click", "like", "comment", "share", "hide"]
METRICS = ["ndcg@10", *(f"{t}_auroc" for t in TASKS), "hide@10"]
MONITORS = ("ndcg@10", "mean_auroc")  # the validation metric that picks the tested epoch, on both sides
PEERS = {"shared_bottom": "SharedBottom", "mmoe": "MMOE", "ple": "PLE"}
# DeepCTR 0.3.0's PLE builds `specific_expert_num` shared experts: more shared than specific ones fail
PLE_SHAPE = ["model.shared_experts=1", "model.specific_experts=1"]
QUICK_ROWS = 4000


def mlsd_overrides(model: str, epochs: int | None, monitor: str = "ndcg@10") -> list[str]:
    """What both the composed config and the run get: the model, the five binary tasks, fixed epochs."""
    args = [f"case={CASE}", f"model={model}", f"multi_task.tasks=[{','.join(TASKS)}]", f"eval.monitor={monitor}"]
    args += ["early_stopping=null"]  # the dwell metrics are skipped with the dwell task
    args += PLE_SHAPE if model == "ple" else []
    return args + ([f"trainer.max_epochs={epochs}"] if epochs is not None else [])


def compose(overrides: list[str]):
    """The run's config as `python run.py <overrides>` composes it (feature defaults, `${seed}` resolved)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from framework.config_dir import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose("run", overrides=overrides)
    keys = ("dataset", "model", "multi_task", "optim", "trainer")
    return OmegaConf.create({k: OmegaConf.to_container(cfg[k], resolve=True) for k in keys})


def deepctr():
    """deepctr_torch, imported without the network. Its __init__ imports `requests` (an undeclared
    dependency) and starts a thread asking PyPI for newer versions; while it is imported, `requests` is a
    stand-in whose get() raises, so that thread gives up at once (its 'check manually' line is swallowed
    with the import's output, the thread joined). The real `requests` module, if any, is put back."""
    if "deepctr_torch" in sys.modules:
        return sys.modules["deepctr_torch"]
    stand_in = types.ModuleType("requests")

    def get(*args, **kwargs):
        raise ConnectionError("scripts/bench_feed.py: no version check (offline benchmark)")

    stand_in.get = get  # type: ignore[attr-defined]
    real = sys.modules.get("requests")
    sys.modules["requests"] = stand_in
    started = set(threading.enumerate())
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                import deepctr_torch
                import deepctr_torch.models.multitask
            except ImportError:
                raise SystemExit("deepctr-torch is the peer of this benchmark: pip install -e '.[bench]'") from None
            for thread in set(threading.enumerate()) - started:
                thread.join(timeout=10)
    finally:
        if real is not None:
            sys.modules["requests"] = real
        else:
            del sys.modules["requests"]
    return deepctr_torch


def evaluate(pred: np.ndarray, rows: dict[str, np.ndarray], weights: list[float]) -> dict[str, float]:
    """mlsd's feed metrics of predicted probabilities [N, T] on one split's rows (sorted by request)."""
    p = torch.from_numpy(np.asarray(pred, dtype=np.float32))
    label, observed = torch.from_numpy(rows["label"]), torch.from_numpy(rows["observed"])
    w = torch.tensor(weights, dtype=torch.float32)
    gain = ((label * observed) @ w).clamp_min(0.0)
    outputs = FeedOutputs(tuple(TASKS), p, label, observed, torch.from_numpy(rows["query"]), p @ w, gain)
    metrics = {"ndcg@10": FeedNDCG(10), "hide@10": TopShare("hide", 10)}
    metrics.update({f"{t}_auroc": OnTask(t, BinaryAUROC()) for t in TASKS})
    out = {}
    for name, metric in metrics.items():
        metric.update(outputs)
        out[name] = float(metric.compute())
    out["mean_auroc"] = float(np.mean([out[f"{t}_auroc"] for t in TASKS]))
    return out


def deepctr_run(data: FeedDataModule, cfg, model: str, seed: int, epochs: int, monitor: str) -> dict:
    dc = deepctr()
    from deepctr_torch.inputs import DenseFeat, SparseFeat

    m, spec = cfg.model, data.spec
    columns = [
        SparseFeat(f.name, vocabulary_size=f.cardinality, embedding_dim=m.embedding_dim) for f in spec.categorical
    ]
    columns += [DenseFeat(f.name, 1) for f in spec.numeric]

    def inputs(part: str) -> dict[str, np.ndarray]:
        rows = data.rows[part]
        x = {f.name: rows["categorical"][:, i] for i, f in enumerate(spec.categorical)}
        return x | {f.name: rows["numeric"][:, i] for i, f in enumerate(spec.numeric)}

    common = {"task_types": ["binary"] * len(TASKS), "task_names": TASKS, "seed": seed, "device": "cpu"}
    common |= {"l2_reg_linear": 0.0, "l2_reg_embedding": 0.0, "l2_reg_dnn": 0.0, "dnn_dropout": m.dropout}
    towers = tuple(m.tower_units)
    if model == "shared_bottom":
        shape = {"bottom_dnn_hidden_units": tuple(m.bottom_units), "tower_dnn_hidden_units": towers}
    elif model == "mmoe":
        shape = {"num_experts": m.n_experts, "expert_dnn_hidden_units": tuple(m.expert_units)}
        shape |= {"gate_dnn_hidden_units": (), "tower_dnn_hidden_units": towers}
    else:
        shape = {"shared_expert_num": m.shared_experts, "specific_expert_num": m.specific_experts}
        shape |= {"num_levels": m.levels, "expert_dnn_hidden_units": tuple(m.expert_units)}
        shape |= {"gate_dnn_hidden_units": (), "tower_dnn_hidden_units": towers}
    net = getattr(dc.models.multitask, PEERS[model])(columns, **shape, **common)
    net.compile(
        torch.optim.Adam(net.parameters(), lr=float(cfg.optim.optimizer.lr)), ["binary_crossentropy"] * len(TASKS)
    )
    weights = [float(cfg.multi_task.engagement_weights[t]) for t in TASKS]
    x, y = inputs("train"), data.rows["train"]["label"]
    x_valid, x_test = inputs("valid"), inputs("test")
    batch, eval_batch = int(cfg.dataset.batch_size), int(cfg.dataset.eval_batch_size)
    train_s, best, best_epoch, best_state = 0.0, -np.inf, -1, None
    for epoch in range(epochs):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # fit prints the device and the sample counts
            net.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        train_s += time.perf_counter() - start
        valid = evaluate(net.predict(x_valid, eval_batch), data.rows["valid"], weights)[monitor]
        if valid > best:
            best, best_epoch, best_state = valid, epoch, copy.deepcopy(net.state_dict())
    if best_state is not None:  # else no epoch had a validation nDCG: test the last
        net.load_state_dict(best_state)
    test = evaluate(net.predict(x_test, eval_batch), data.rows["test"], weights)
    return {**test, "train_s_per_epoch": train_s / epochs, "epochs": epochs, "best_epoch": best_epoch}


def mlsd_run(dataset_args: list[str], model: str, seed: int, epochs: int, rows: dict[str, int], monitor: str) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        args = [sys.executable, str(ROOT / "run.py"), *mlsd_overrides(model, epochs, monitor), *dataset_args]
        args += [f"seed={seed}"]
        args += ["logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        record = json.loads((Path(run_dir) / "run.json").read_text())
    m, history = record["metrics"], record["history"]
    for part, n in rows.items():  # the run split and encoded the same rows as this process did
        if record["data"][f"{part}_rows"] != n:
            raise SystemExit(f"mlsd's run has {record['data'][f'{part}_rows']} {part} rows, the bench {n}")
    valid = [row.get(f"val/{monitor}", -np.inf) for row in history]
    return {
        **{k: m[f"test/{k}"] for k in METRICS},
        "train_s_per_epoch": record["data"]["train_rows"] / record["train_samples_per_s"],
        "fit_s": record["timings"]["fit"],
        "epochs": record["epochs"],
        "best_epoch": int(history[int(np.argmax(valid))]["epoch"]) if history else -1,
    }


def one_seed(dataset_args: list[str], models: list[str], seed: int, epochs: int, monitor: str) -> dict:
    runs = {}
    with tempfile.TemporaryDirectory() as cache:
        cfg = compose([*mlsd_overrides(models[0], epochs), *dataset_args, f"seed={seed}"])
        data = FeedDataModule(cfg.dataset, cache, seed)
        data.prepare()
        data.keep_tasks(TASKS)
        for model in models:
            cfg = compose([*mlsd_overrides(model, epochs), *dataset_args, f"seed={seed}"])
            rows = {part: len(data.rows[part]["query"]) for part in ("train", "valid", "test")}
            runs[f"mlsd {model}"] = mlsd_run(dataset_args, model, seed, epochs, rows, monitor)
            runs[f"deepctr {PEERS[model]}"] = deepctr_run(data, cfg, model, seed, epochs, monitor)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--models", nargs="+", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--epochs", type=int, help="both sides' epochs (default: the case's trainer.max_epochs)")
    parser.add_argument("--task-correlation", type=float, help="dataset.task_correlation, for both")
    parser.add_argument("--monitor", default="ndcg@10", choices=MONITORS, help="validation metric picking the epoch")
    parser.add_argument("--quick", action="store_true", help=f"1 seed, {QUICK_ROWS} rows, 1 epoch")
    parser.add_argument("--out", default="bench_feed.json")
    args = parser.parse_args()
    dataset_args = ["dataset=feed_synthetic"]
    if args.task_correlation is not None:
        dataset_args.append(f"dataset.task_correlation={args.task_correlation}")
    seeds, epochs = args.seeds, args.epochs
    if args.quick:
        seeds, epochs = seeds[:1], epochs or 1
        dataset_args.append(f"dataset.max_rows={QUICK_ROWS}")
    if epochs is None:
        epochs = int(compose([*mlsd_overrides(args.models[0], None), *dataset_args]).trainer.max_epochs)
    deepctr()  # fail before any training when the peer is missing
    runs = {}
    for seed in seeds:
        runs[seed] = one_seed(dataset_args, args.models, seed, epochs, args.monitor)
        print(f"seed {seed}: " + ", ".join(f"{m} {v['ndcg@10']:.4f}" for m, v in runs[seed].items()), flush=True)
    methods = list(runs[seeds[0]])
    print(f"\n{epochs} epochs, epoch by validation {args.monitor}, {len(seeds)} seed(s), {' '.join(dataset_args)}:\n")
    print("| method | " + " | ".join(METRICS) + " | train s/epoch |")
    print("|---" * (len(METRICS) + 2) + "|")
    for method in methods:
        cells = []
        for metric in [*METRICS, "train_s_per_epoch"]:
            mean, std = mean_std([runs[s][method][metric] for s in seeds])
            cells.append(f"{mean:.2f} ± {std:.2f}" if metric == "train_s_per_epoch" else f"{mean:.4f} ± {std:.4f}")
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("\nmlsd minus DeepCTR, paired by seed (mean [95% bootstrap interval], t-test p):")
    if len(seeds) < 2:
        print("  (needs two seeds or more)")
    for model in args.models:
        ours, peer = f"mlsd {model}", f"deepctr {PEERS[model]}"
        for metric in METRICS:
            c = paired_comparison({s: runs[s][peer][metric] for s in seeds}, {s: runs[s][ours][metric] for s in seeds})
            if c is not None:
                print(f"  {model} {metric}: {c.mean_diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] p={c.p_value:.3f}")
    out = {"seeds": seeds, "epochs": epochs, "monitor": args.monitor, "dataset": dataset_args, "tasks": TASKS}
    out["ple_shape"] = PLE_SHAPE
    Path(args.out).write_text(json.dumps({**out, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
