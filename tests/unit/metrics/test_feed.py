"""Feed metrics: hand-computed values, and torchmetrics' retrieval metrics on random requests (with ties)."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.classification import BinaryAUROC
from torchmetrics.regression import MeanAbsoluteError
from torchmetrics.retrieval import RetrievalAUROC, RetrievalNormalizedDCG

from framework.metrics.feed import FeedNDCG, FeedOutputs, ImpressionAUC, ImpressionMRR, OnTask, TopShare


def _outputs(query, score, gain, hide=None, pred=None, observed=None) -> FeedOutputs:
    query, score, gain = torch.tensor(query), torch.tensor(score, dtype=torch.float64), torch.tensor(gain)
    hide = torch.zeros_like(gain) if hide is None else torch.tensor(hide, dtype=torch.float32)
    label = torch.stack([gain.float(), hide], dim=1)
    pred = torch.rand(len(query), 2) if pred is None else torch.tensor(pred)
    observed = torch.ones(len(query), 2, dtype=torch.bool) if observed is None else torch.tensor(observed)
    return FeedOutputs(("click", "hide"), pred, label, observed, query, score, gain.double())


def _value(metric, outputs: FeedOutputs) -> float:
    metric.update(outputs)
    return float(metric.compute())


def test_hand_computed_values_of_one_request() -> None:
    # sorted by score: gains 0, 3, 1, 0  (ranks 1..4)
    out = _outputs([7, 7, 7, 7], [0.9, 0.8, 0.7, 0.1], [0.0, 3.0, 1.0, 0.0], hide=[1, 0, 0, 0])
    dcg = 3 / math.log2(3) + 1 / math.log2(4)
    idcg = 3 / math.log2(2) + 1 / math.log2(3)
    assert _value(FeedNDCG(10), out) == pytest.approx(dcg / idcg, rel=1e-6)
    assert _value(FeedNDCG(1), out) == pytest.approx(0.0)
    # positives at ranks 2 and 3; negatives at 1 and 4: each positive beats one of two negatives
    assert _value(ImpressionAUC(), out) == pytest.approx(0.5)
    assert _value(ImpressionMRR(), out) == pytest.approx((1 / 2 + 1 / 3) / 2)  # MIND: every click, not the first
    assert _value(TopShare("hide", 1), out) == pytest.approx(1.0)
    assert _value(TopShare("hide", 4), out) == pytest.approx(0.25)


def test_requests_without_engagement_are_skipped_and_ties_count_half() -> None:
    out = _outputs([1, 1, 2, 2, 3, 3], [0.5, 0.5, 0.9, 0.1, 0.3, 0.2], [1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    # request 1: a tie between its positive and negative (AUC 0.5); request 2: AUC 0; request 3: no positive
    assert _value(ImpressionAUC(), out) == pytest.approx(0.25)
    assert _value(ImpressionMRR(), out) == pytest.approx((1.0 + 0.5) / 2)  # the tie keeps the first row first


def test_a_request_split_over_batches_is_scored_whole() -> None:
    out = _outputs([4, 4, 4, 4], [0.9, 0.8, 0.7, 0.1], [0.0, 3.0, 1.0, 0.0])
    whole, halves = FeedNDCG(10), FeedNDCG(10)
    whole.update(out)
    for part in (slice(0, 2), slice(2, 4)):
        sliced = FeedOutputs(out.heads, out.pred[part], out.label[part], out.observed[part], out.query[part],
                             out.score[part], out.gain[part])  # fmt: skip
        halves.update(sliced)
    assert float(halves.compute()) == pytest.approx(float(whole.compute()))


@pytest.mark.parametrize("k", [1, 5, 10])
def test_ndcg_and_auc_agree_with_torchmetrics(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    n = 3000
    query = torch.randint(0, 200, (n,), generator=g)
    score = torch.rand(n, generator=g, dtype=torch.float64)  # no ties: nDCG of tied scores depends on the order
    gain = ((torch.rand(n, generator=g) < 0.2).double() * torch.randint(1, 4, (n,), generator=g)).double()
    out = FeedOutputs(("click",), score[:, None].float(), gain[:, None].float(), torch.ones(n, 1, dtype=torch.bool),
                      query, score, gain)  # fmt: skip
    expected = RetrievalNormalizedDCG(top_k=k, empty_target_action="skip")(score, gain, indexes=query)
    assert _value(FeedNDCG(k), out) == pytest.approx(float(expected), abs=1e-6)
    tied = torch.round(score * 10) / 10  # ties: AUC counts them half, as torchmetrics does
    out.score = tied
    expected = RetrievalAUROC(empty_target_action="skip")(tied, gain > 0, indexes=query)
    assert _value(ImpressionAUC(), out) == pytest.approx(float(expected), abs=1e-6)


def test_on_task_reads_one_head_on_its_observed_rows() -> None:
    pred = [[0.7, 30.0], [0.2, 0.0], [0.8, 10.0], [0.1, 0.0]]
    observed = [[True, True], [True, False], [True, True], [True, False]]
    label = torch.tensor([[1.0, 20.0], [0.0, 0.0], [0.0, 16.0], [0.0, 0.0]])
    out = FeedOutputs(("click", "dwell"), torch.tensor(pred), label, torch.tensor(observed), torch.zeros(4).long(),
                      torch.zeros(4), torch.zeros(4))  # fmt: skip
    auroc = OnTask("click", BinaryAUROC())
    assert auroc.higher_is_better is True
    assert _value(auroc, out) == pytest.approx(2 / 3)  # the click (0.7) is above 2 of the 3 non-clicks
    mae = OnTask("dwell", MeanAbsoluteError())
    assert mae.higher_is_better is False
    assert _value(mae, out) == pytest.approx((10 + 6) / 2)  # rows without a dwell label are left out
    mae.reset()
    assert mae.metric.total == 0


def test_a_task_the_outputs_lack_is_named() -> None:
    out = _outputs([1], [0.5], [1.0])
    with pytest.raises(KeyError, match="'like' is not one of the model's heads"):
        OnTask("like", BinaryAUROC()).update(out)


def test_mean_over_tasks_averages_each_task_on_its_observed_rows() -> None:
    from framework.metrics.feed import MeanOverTasks

    pred = torch.tensor([[0.7, 0.1], [0.2, 0.9], [0.8, 0.3], [0.1, 0.2]])
    label = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    observed = torch.tensor([[True, True], [True, True], [True, True], [True, False]])
    out = FeedOutputs(("click", "hide"), pred, label, observed, torch.zeros(4).long(), torch.zeros(4), torch.zeros(4))
    metric = MeanOverTasks(["click", "hide"], BinaryAUROC())
    # click: 0.7 above 2 of 3 non-clicks; hide (rows 1-3): positives 0.9, 0.3 against the negative 0.1: 1.0
    assert metric.higher_is_better is True and _value(metric, out) == pytest.approx((2 / 3 + 1.0) / 2)
    metric.reset()
    assert _value(metric, _outputs([1, 1], [0.5, 0.4], [1.0, 0.0], hide=[0, 1], pred=[[0.9, 0.2], [0.1, 0.8]])) == 1.0
