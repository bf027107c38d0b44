"""Gradient-boosted trees through LightGBM: lambdarank over each query's list, or binary (pointwise).

Not a torch module: trees are grown by LightGBM, not by gradient steps, so the recipe calls `fit` instead
of Lightning, on the same encoded features the networks see (categorical ids as
LightGBM categorical features, numeric columns as they are: trees do not care about scale). Early
stopping watches the validation lists (LightGBM's NDCG@10 for lambdarank, log loss for binary); the
booster is saved with the run (`model.txt`, LightGBM's own text format).

    trees = GradientBoostedTrees(spec, objective="lambdarank")
    trees.fit(train_rows, train_groups, valid_rows, valid_groups, seed=1)
    scores = trees.predict(categorical, numeric)     # [rows]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from framework.data.tabular.features import FeatureSpec


class GradientBoostedTrees:
    tasks = ("learning_to_rank",)

    def __init__(
        self,
        feature_spec: FeatureSpec,
        objective: Literal["lambdarank", "binary"] = "lambdarank",
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 0.0,
        early_stopping_rounds: int = 50,
        num_threads: int = 2,
    ) -> None:
        self.spec = feature_spec
        self.objective = objective
        self.n_estimators = n_estimators
        self.params: dict[str, Any] = {  # LightGBM's native names (no scikit-learn needed)
            "objective": objective,
            "learning_rate": learning_rate,
            "num_leaves": num_leaves,
            "min_data_in_leaf": min_child_samples,
            "bagging_fraction": subsample,
            "bagging_freq": 1 if subsample < 1 else 0,
            "feature_fraction": colsample_bytree,
            "lambda_l2": reg_lambda,
            "num_threads": num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        if objective == "lambdarank":
            self.params.update(metric="ndcg", eval_at=[10])
        else:
            self.params.update(metric="binary_logloss")
        self.early_stopping_rounds = early_stopping_rounds
        self.booster: Any = None
        self.best_iteration = 0
        self.lightgbm_curve: list[dict[str, float]] = []

    def _matrix(self, categorical: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        """One float matrix, categorical ids first (LightGBM reads the marked columns as categories)."""
        return np.concatenate([categorical.astype(np.float32), numeric.astype(np.float32)], axis=1)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.spec.categorical] + [f.name for f in self.spec.numeric]

    def fit(
        self,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        train_groups: np.ndarray,
        valid: tuple[np.ndarray, np.ndarray, np.ndarray],
        valid_groups: np.ndarray,
        seed: int,
    ) -> None:
        """train / valid: (categorical [N, C], numeric [N, D], label [N]) with rows grouped by query,
        `*_groups` the list sizes in order (what LightGBM's `group` means)."""
        import lightgbm as lgb

        categorical = list(range(len(self.spec.categorical)))
        grouped = self.objective == "lambdarank"

        def dataset(rows: tuple[np.ndarray, np.ndarray, np.ndarray], groups: np.ndarray, **kw: Any) -> Any:
            return lgb.Dataset(
                self._matrix(rows[0], rows[1]),
                rows[2],
                group=groups if grouped else None,
                feature_name=self.feature_names,
                categorical_feature=categorical,
                free_raw_data=False,
                **kw,
            )

        train_set = dataset(train, train_groups)
        valid_set = dataset(valid, valid_groups, reference=train_set)
        record: dict[str, Any] = {}
        self.booster = lgb.train(
            {**self.params, "seed": seed},
            train_set,
            num_boost_round=self.n_estimators,
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False), lgb.record_evaluation(record)],
        )
        self.best_iteration = int(self.booster.best_iteration or self.n_estimators)
        curves = record.get("valid", {})
        self.lightgbm_curve = [  # LightGBM's own validation metric per round (its NDCG counts empty lists as 1)
            {"round": i + 1, **{f"lightgbm_{name}": float(v[i]) for name, v in curves.items()}}
            for i in range(len(next(iter(curves.values()), [])))
        ]

    def predict(self, categorical: np.ndarray, numeric: np.ndarray, rounds: int | None = None) -> np.ndarray:
        """Raw scores (log-odds for binary) of rows: higher = earlier in the list. `rounds`: the first trees
        only (default: up to the best round)."""
        if self.booster is None:
            raise RuntimeError("GradientBoostedTrees.predict before fit")
        matrix = self._matrix(categorical, numeric)
        return self.booster.predict(matrix, num_iteration=rounds or self.best_iteration, raw_score=True)

    @property
    def rounds_grown(self) -> int:
        return int(self.booster.current_iteration()) if self.booster is not None else 0

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        self.booster.save_model(str(tmp), num_iteration=self.best_iteration)
        tmp.replace(path)  # atomic: a killed run never leaves half a model
        return path

    def parameter_count(self) -> int:
        """Leaves of the trees kept (the trees' "parameters")."""
        dump = self.booster.dump_model(num_iteration=self.best_iteration)
        return int(sum(t["num_leaves"] for t in dump["tree_info"]))
