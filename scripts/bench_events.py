"""Event recommendation against the learning-to-rank peers, on one split per seed shared by every method.

    pip install -e '.[bench]'   # xgboost, the second peer (lightgbm is a dependency of mlsd)
    python scripts/bench_events.py [--seeds 1 2 3 4 5]                       # the embedded generator
    python scripts/bench_events.py --path ../shared/data/kaggle-event-recommendation/train.csv

Per seed the dataset is split and encoded once by mlsd's data module (whole users per split); then, on
those identical features (categorical ids as categorical features, numeric columns as they are):
- LightGBM (`objective="lambdarank"`) and XGBoost (`objective="rank:ndcg"`, `tree_method="hist"`, ids
  as categories through `enable_categorical`), each through its native training API (500 rounds at
  most, learning rate 0.05, early stopping on the validation lists' NDCG@10 after 50 rounds without
  gain, other settings their defaults), scored by mlsd's evaluation;
- mlsd through `python run.py case=event_recommendation ...`: LightGBM as mlsd runs it, the DNN with
  the listwise (the case's default) and the pointwise loss (the others: `experiment=events_loss`), and
  the event-popularity baseline; on the Kaggle log also the pointwise DNN without the `event_id` group
  (what the event's own id embedding is worth).
Metrics: MAP@200 (the challenge's), nDCG@10, MRR per user, users without an interested event skipped.
Table: mean ± std over seeds; differences to LightGBM lambdarank paired by seed (the compare report's
statistics: exact paired bootstrap 95% interval, paired t-test). Writes markdown to stdout and every
number to --out (JSON).
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

from framework.compare.stats import mean_std, paired_comparison  # noqa: E402
from framework.data.ranking.datamodule import RankingDataModule  # noqa: E402
from framework.metrics.topk import MAPAtK, MRRAtK, NDCGAtK  # noqa: E402
from framework.tasks.learning_to_rank.evaluation import ranked_lists  # noqa: E402

METRICS = ["map@200", "ndcg@10", "mrr"]
ROUNDS, RATE, PATIENCE = 500, 0.05, 50


def evaluate(scores: np.ndarray, lists: dict[str, np.ndarray]) -> dict[str, float]:
    padded = np.full(lists["mask"].shape, -np.inf)
    padded[lists["mask"]] = scores
    t = {k: torch.from_numpy(lists[k]) for k in ("label", "mask", "item")}
    ranked = ranked_lists(torch.from_numpy(padded), t["label"], t["mask"], t["item"], 200, 1)
    out = {}
    for name, metric in (("map@200", MAPAtK(200)), ("ndcg@10", NDCGAtK(10)), ("mrr", MRRAtK(200))):
        metric.update(ranked)
        out[name] = float(metric.compute())
    return out


def rows(lists: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [N, C + D] categorical first, labels [N], list sizes [Q]) of padded lists."""
    mask = lists["mask"]
    x = np.concatenate([lists["categorical"][mask].astype(np.float32), lists["numeric"][mask]], axis=1)
    return x, lists["label"][mask], mask.sum(1)


def lightgbm_lambdarank(data: RankingDataModule, seed: int) -> dict:
    import lightgbm as lgb

    (x, y, g), (xv, yv, gv) = rows(data.lists["train"]), rows(data.lists["valid"])
    categorical = list(range(len(data.spec.categorical)))
    params = {"objective": "lambdarank", "learning_rate": RATE, "seed": seed, "verbose": -1, "num_threads": 2}
    params.update(metric="ndcg", eval_at=[10], deterministic=True, force_row_wise=True)
    start = time.perf_counter()
    train = lgb.Dataset(x, y, group=g, categorical_feature=categorical)
    valid = lgb.Dataset(xv, yv, group=gv, categorical_feature=categorical, reference=train)
    booster = lgb.train(
        params, train, ROUNDS, valid_sets=[valid], callbacks=[lgb.early_stopping(PATIENCE, verbose=False)]
    )
    fit_s = time.perf_counter() - start
    xt, _, _ = rows(data.lists["test"])
    scores = booster.predict(xt, num_iteration=booster.best_iteration)
    return {**evaluate(scores, data.lists["test"]), "fit_s": fit_s}


def xgboost_ndcg(data: RankingDataModule, seed: int) -> dict:
    try:
        import xgboost as xgb
    except ImportError:
        raise SystemExit("xgboost is a peer of this benchmark: pip install -e '.[bench]'") from None

    kinds = ["c"] * len(data.spec.categorical) + ["q"] * len(data.spec.numeric)  # ids as categories, as LightGBM

    def matrix(lists: dict[str, np.ndarray]) -> xgb.DMatrix:
        x, y, g = rows(lists)
        qid = np.repeat(np.arange(len(g)), g)
        return xgb.DMatrix(x, label=y, qid=qid, feature_types=kinds, enable_categorical=True)

    params = {"objective": "rank:ndcg", "eta": RATE, "seed": seed, "nthread": 2, "eval_metric": "ndcg@10"}
    params["tree_method"] = "hist"
    start = time.perf_counter()
    valid = matrix(data.lists["valid"])
    booster = xgb.train(
        params,
        matrix(data.lists["train"]),
        ROUNDS,
        evals=[(valid, "valid")],
        early_stopping_rounds=PATIENCE,
        verbose_eval=False,
    )
    fit_s = time.perf_counter() - start
    scores = booster.predict(matrix(data.lists["test"]), iteration_range=(0, booster.best_iteration + 1))
    return {**evaluate(scores, data.lists["test"]), "fit_s": fit_s}


def mlsd_run(dataset_args: list[str], seed: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        args = [sys.executable, str(ROOT / "run.py"), "case=event_recommendation", *dataset_args, f"seed={seed}"]
        args += ["logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}", *extra]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        record = json.loads((Path(run_dir) / "run.json").read_text())
    m = record["metrics"]
    return {**{k: m[f"test/{k}"] for k in METRICS}, "fit_s": record["timings"].get("fit", float("nan"))}


def dataset_config(dataset_args: list[str], seed: int):
    """The dataset node as a run composes it (its feature defaults, `${seed}` resolved)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from framework.config_dir import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=["case=event_recommendation", *dataset_args, f"seed={seed}"])
    return OmegaConf.create(OmegaConf.to_container(cfg.dataset, resolve=True))


def one_seed(cfg, dataset_args: list[str], seed: int) -> dict:
    data = RankingDataModule(cfg, tempfile.mkdtemp(), seed)
    data.prepare()
    runs = {
        "lightgbm_lambdarank": lightgbm_lambdarank(data, seed),
        "xgboost_rank_ndcg": xgboost_ndcg(data, seed),
        "mlsd_lightgbm": mlsd_run(dataset_args, seed, ["model=lightgbm"]),
        "mlsd_dnn_listwise": mlsd_run(dataset_args, seed, ["ltr.loss=listwise"]),
        "mlsd_dnn_pointwise": mlsd_run(dataset_args, seed, ["ltr.loss=pointwise"]),
        "event_popularity": mlsd_run(dataset_args, seed, ["model=event_popularity"]),
    }
    if any(f.name == "event_id" for f in data.spec.categorical):  # real logs: what the id is worth
        without = ["ltr.loss=pointwise", "ltr.drop_groups=[event_id]"]
        runs["mlsd_dnn_pointwise_without_event_id"] = mlsd_run(dataset_args, seed, without)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", help="Kaggle train.csv (default: the embedded generator)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--out", default="bench_events.json")
    args = parser.parse_args()
    name = "kaggle_events" if args.path else "events_synthetic"
    dataset_args = [f"dataset={name}"] + ([f"dataset.path={Path(args.path).resolve()}"] if args.path else [])
    runs = {}
    for seed in args.seeds:
        runs[seed] = one_seed(dataset_config(dataset_args, seed), dataset_args, seed)
        print(f"seed {seed}: " + ", ".join(f"{m} {v['map@200']:.4f}" for m, v in runs[seed].items()), flush=True)
    methods = list(runs[args.seeds[0]])
    print("\n| method | " + " | ".join(METRICS) + " | fit s |")
    print("|---" * (len(METRICS) + 2) + "|")
    for method in methods:
        cells = []
        for metric in [*METRICS, "fit_s"]:
            mean, std = mean_std([runs[s][method][metric] for s in args.seeds])
            cells.append(f"{mean:.2f} ± {std:.2f}" if metric == "fit_s" else f"{mean:.4f} ± {std:.4f}")
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("\nDifference to lightgbm_lambdarank, paired by seed (mean [95% bootstrap interval], t-test p):")
    for method in methods[1:]:
        c = paired_comparison(
            {s: runs[s]["lightgbm_lambdarank"]["map@200"] for s in args.seeds},
            {s: runs[s][method]["map@200"] for s in args.seeds},
        )
        if c is not None:
            print(f"  {method} map@200: {c.mean_diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] p={c.p_value:.3f}")
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "dataset": dataset_args, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
