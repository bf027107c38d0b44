"""FeedTask: per-task losses on observed rows (hand-computed), heads in label units, the engagement score."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from framework.metrics.feed import FeedNDCG
from framework.tasks.multi_task.module import FeedHeads, FeedTask


class Fixed(nn.Module):
    """Outputs given per row (the test's logits / standardised values), whatever the features."""

    def __init__(self, outputs: torch.Tensor) -> None:
        super().__init__()
        self.outputs = outputs
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.outputs + self.w


def _task(outputs: torch.Tensor, metrics=None) -> FeedTask:
    return FeedTask(
        Fixed(outputs),
        metrics or {},
        heads=("click", "dwell"),
        binary=(True, False),
        target_scale=((0.0, 1.0), (20.0, 10.0)),
        task_weights=(1.0, 0.5),
        engagement_weights=(1.0, 0.1),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
    )


def _batch() -> dict[str, torch.Tensor]:
    return {
        "categorical": torch.zeros(3, 1, dtype=torch.int32),
        "numeric": torch.zeros(3, 1),
        "label": torch.tensor([[1.0, 30.0], [0.0, 0.0], [1.0, 10.0]]),
        "observed": torch.tensor([[True, True], [True, False], [True, True]]),
        "query": torch.tensor([5, 5, 5]),
    }


def test_each_task_loss_is_its_mean_over_observed_rows() -> None:
    outputs = torch.tensor([[0.0, 1.0], [2.0, 9.0], [-1.0, 0.0]])
    losses = _task(outputs).task_losses(outputs, _batch())
    bce = (math.log(2) + (2 + math.log1p(math.exp(-2))) + math.log1p(math.exp(1))) / 3
    # dwell standardised with (20, 10): targets 1.0 and -1.0; the unobserved row (output 9) does not count
    squared = ((1.0 - 1.0) ** 2 + (0.0 + 1.0) ** 2) / 2
    assert losses.tolist() == pytest.approx([bce, squared], rel=1e-6)


def test_training_loss_weights_the_tasks() -> None:
    outputs = torch.tensor([[0.0, 1.0], [2.0, 9.0], [-1.0, 0.0]])
    task = _task(outputs)
    expected = (task.task_losses(outputs, _batch()) * torch.tensor([1.0, 0.5])).sum()
    task.log = lambda *a, **k: None  # outside a Trainer
    assert float(task.training_step(_batch(), 0).detach()) == pytest.approx(float(expected))


def test_heads_are_probabilities_and_label_units_and_the_score_weights_them() -> None:
    heads = FeedHeads(Fixed(torch.tensor([[0.0, 1.0]])), (True, False), ((0.0, 1.0), (20.0, 10.0)), (1.0, 0.1))
    pred, score = heads(torch.zeros(1, 1, dtype=torch.int32), torch.zeros(1, 1))
    assert pred[0].tolist() == pytest.approx([0.5, 30.0])
    assert score.tolist() == pytest.approx([0.5 + 0.1 * 30.0])


def test_feed_outputs_gain_counts_observed_labels_only_and_never_below_zero() -> None:
    task = FeedTask(
        Fixed(torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])),
        {"ndcg@10": FeedNDCG(10)},
        heads=("click", "hide"),
        binary=(True, True),
        target_scale=((0.0, 1.0), (0.0, 1.0)),
        task_weights=(1.0, 1.0),
        engagement_weights=(1.0, -20.0),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
    )
    batch = _batch()
    batch["label"] = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    batch["observed"] = torch.tensor([[True, True], [True, True], [True, False]])
    out = task.feed_outputs(batch)
    assert out.gain.tolist() == pytest.approx([1.0, 0.0, 0.0])  # a hidden post earns nothing; row 3's hide unseen
    assert out.score.tolist() == pytest.approx([0.5 - 10.0] * 3)
