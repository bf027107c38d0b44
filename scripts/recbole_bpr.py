"""RecBole's BPR on a given split, for scripts/bench_retrieval.py. Runs in an environment with RecBole.

    <recbole python> scripts/recbole_bpr.py --data-dir DIR --dataset NAME [--seed 2020] [--epochs 300]

DIR/NAME/NAME.{train,valid,test}.inter are RecBole atomic files (user_id:token, item_id:token,
timestamp:float) holding the split to evaluate; RecBole uses them as they are (`benchmark_filename`)
and ranks every item for every user, excluding the user's earlier items (full sort), like mlsd.
RecBole's BPR defaults are kept (embedding 64, Adam lr 0.001, batch 2048, one uniform negative per
positive, early stopping after 10 epochs without improvement); only the validation metric is set to
NDCG@20, the metric mlsd's retrieval stage monitors. Prints one JSON line: metrics, fit seconds, epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    # RecBole 1.2 saves its config inside checkpoints; torch >= 2.6 loads weights only unless told otherwise.
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.general_recommender import BPR
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    with tempfile.TemporaryDirectory() as tmp:
        config = Config(
            model="BPR",
            dataset=args.dataset,
            config_dict={
                "data_path": args.data_dir,
                "benchmark_filename": ["train", "valid", "test"],
                "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
                "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
                "metrics": ["Recall", "NDCG", "Precision", "Hit", "MRR"],
                "topk": [10, 20],
                "valid_metric": "NDCG@20",
                "epochs": args.epochs,
                "seed": args.seed,
                "reproducibility": True,
                "use_gpu": False,
                "device": "cpu",
                "show_progress": False,
                "checkpoint_dir": tmp,
                "log_wandb": False,
            },
        )
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train_data, valid_data, test_data = data_preparation(config, dataset)
        model = BPR(config, train_data._dataset).to(config["device"])

        class CountingTrainer(Trainer):  # RecBole does not record how many epochs ran
            epochs_run = 0

            def _train_epoch(self, *a, **k):
                self.epochs_run += 1
                return super()._train_epoch(*a, **k)

        trainer = CountingTrainer(config, model)
        start = time.perf_counter()
        trainer.fit(train_data, valid_data, saved=True, show_progress=False)
        fit_seconds = time.perf_counter() - start
        test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    import recbole

    print(
        json.dumps(
            {
                "framework": f"RecBole {recbole.__version__}",
                "model": "BPR",
                "users": dataset.user_num - 1,
                "items": dataset.item_num - 1,
                "fit_seconds": round(fit_seconds, 2),
                "epochs": trainer.epochs_run,
                "test": {k: float(v) for k, v in test.items()},
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
