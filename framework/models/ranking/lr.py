"""Logistic regression: the baseline every CTR model must beat."""

from __future__ import annotations

import torch
from torch import nn

from framework.data.tabular.features import FeatureSpec
from framework.models.layers import FirstOrder


class LogisticRegression(nn.Module):
    """logit = bias + sum of one weight per categorical id + w . numeric. No feature interactions."""

    tasks = ("ctr", "learning_to_rank")

    def __init__(self, feature_spec: FeatureSpec) -> None:
        super().__init__()
        self.linear = FirstOrder(feature_spec.cardinalities, feature_spec.n_numeric)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.linear(categorical, numeric)
