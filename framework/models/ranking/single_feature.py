"""One feature as the score: the baselines without training (event popularity, distance, ...).

    baseline = SingleFeature(spec, feature="event_popularity")    # most popular events first
    scores = baseline.predict(categorical, numeric)

`descending: false` ranks the smallest values first (e.g. distance). Like the trees it is not a torch
module; unlike them it learns nothing (`trainable = False`): the recipe only evaluates it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from framework.data.tabular.features import FeatureSpec
from framework.errors import DataError


class SingleFeature:
    tasks = ("learning_to_rank",)
    trainable = False

    def __init__(self, feature_spec: FeatureSpec, feature: str = "event_popularity", descending: bool = True) -> None:
        names = [f.name for f in feature_spec.numeric]
        if feature not in names:
            raise DataError(
                f"model.feature={feature!r} is not a numeric feature of this data (ablated, or missing from the "
                f"source). Numeric features: {', '.join(names) or '(none)'}."
            )
        self.feature, self.column, self.sign = feature, names.index(feature), 1.0 if descending else -1.0

    def fit(self, *args: object, **kwargs: object) -> None:
        """Nothing to learn."""

    def predict(self, categorical: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        return self.sign * numeric[:, self.column].astype(np.float64)

    def save(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(".json")
        path.write_text(json.dumps({"feature": self.feature, "descending": self.sign > 0}))
        return path

    def parameter_count(self) -> int:
        return 0
