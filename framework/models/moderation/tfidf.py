"""The text baseline: TF-IDF word n-grams and one logistic regression per class (scikit-learn).

Davidson et al. (ICWSM 2017) used this family: n-gram TF-IDF features and one-vs-rest logistic
regression. It is fit by scikit-learn in the recipe (not by Lightning), on the raw texts of the train
split; `predict(texts) -> [N, C]` probabilities. Imbalance handling comes from the task
(`multi_label.imbalance`): `class_weight` fits each class with balanced weights, `downsample` fits on the
downsampled rows and the recipe recalibrates; focal loss is for networks only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from framework.data.moderation.datamodule import PostSpec


class TfidfLogistic:
    """TfidfVectorizer(ngram_range=(1, max_ngram), sublinear tf) -> LogisticRegression(C) per class."""

    tasks = ("multi_label",)
    trainable = True

    def __init__(
        self,
        feature_spec: PostSpec,
        heads: Sequence[str],
        max_ngram: int = 2,
        min_df: int = 2,
        max_features: int | None = 100_000,
        C: float = 4.0,
        max_iter: int = 1000,
    ) -> None:
        if max_ngram < 1 or min_df < 1 or C <= 0:
            raise ValueError(f"max_ngram and min_df must be at least 1 and C positive, got {max_ngram}, {min_df}, {C}")
        self.heads = tuple(heads)
        self.max_ngram, self.min_df, self.max_features, self.C, self.max_iter = (
            max_ngram,
            min_df,
            max_features,
            C,
            max_iter,
        )
        self.vectorizer: Any = None
        self.models: list[Any] = []

    def fit(self, texts: list[str], labels: np.ndarray, class_weight: str | None, seed: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        min_df = self.min_df if len(texts) >= 10 * self.min_df else 1  # tiny data (tests): keep every n-gram
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, self.max_ngram), min_df=min_df, max_features=self.max_features, sublinear_tf=True
        )
        x = self.vectorizer.fit_transform(texts)
        self.models = []
        for c in range(labels.shape[1]):
            lr = LogisticRegression(C=self.C, class_weight=class_weight, max_iter=self.max_iter, random_state=seed)
            self.models.append(lr.fit(x, labels[:, c].astype(int)))

    def predict(self, texts: list[str]) -> np.ndarray:
        x = self.vectorizer.transform(texts)
        return np.stack([m.predict_proba(x)[:, 1] for m in self.models], axis=1).astype(np.float32)

    def parameter_count(self) -> int:
        return int(sum(m.coef_.size + m.intercept_.size for m in self.models))
