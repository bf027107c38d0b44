"""The harmful content case's parts against references: metrics vs scikit-learn, the operating point vs a
brute-force search, the stratified split, the focal loss, downsampling's recalibration, the tokeniser."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from sklearn import metrics as skm

from framework.metrics.feed import OnTask
from framework.metrics.multilabel import (
    ExclusiveF1,
    ExclusiveScore,
    LabelOutputs,
    MeanOverClasses,
    PrevalenceRatio,
    RecallAtPrecision,
)

HEADS = ("a", "b", "c")


def _outputs(seed: int = 0, n: int = 400) -> tuple[LabelOutputs, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 3)) < [0.05, 0.2, 0.5]).astype(np.float32)
    p = np.clip(0.3 * y + rng.random((n, 3)) * 0.7, 0, 1).astype(np.float32)
    return LabelOutputs.of(HEADS, torch.from_numpy(p), torch.from_numpy(y)), p, y


def _run(metric, outputs: LabelOutputs, batches: int = 3) -> float:
    n = len(outputs.pred)
    for i in range(batches):  # split over batches: states must accumulate
        s = slice(i * n // batches, (i + 1) * n // batches)
        metric.update(LabelOutputs.of(HEADS, outputs.pred[s], outputs.label[s]))
    return float(metric.compute())


def test_per_class_and_mean_pr_auc_match_scikit_learn() -> None:
    from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

    outputs, p, y = _outputs()
    ref = [skm.average_precision_score(y[:, c], p[:, c]) for c in range(3)]
    assert _run(OnTask("a", BinaryAveragePrecision()), outputs) == pytest.approx(ref[0], abs=1e-5)
    assert _run(MeanOverClasses(BinaryAveragePrecision()), outputs) == pytest.approx(np.mean(ref), abs=1e-5)
    auc = np.mean([skm.roc_auc_score(y[:, c], p[:, c]) for c in range(3)])
    assert _run(MeanOverClasses(BinaryAUROC()), outputs) == pytest.approx(auc, abs=1e-5)


@pytest.mark.parametrize("min_precision", [0.3, 0.6, 0.9])
def test_recall_at_precision_is_the_best_recall_among_thresholds_reaching_it(min_precision: float) -> None:
    outputs, p, y = _outputs(seed=1)
    precision, recall, _ = skm.precision_recall_curve(y[:, 1], p[:, 1])
    ok = precision >= min_precision
    expected = recall[ok].max() if ok.any() else 0.0
    assert _run(RecallAtPrecision("b", min_precision), outputs) == pytest.approx(expected, abs=1e-6)


def test_prevalence_ratio_is_mean_probability_over_rate() -> None:
    outputs, p, y = _outputs(seed=2)
    assert _run(PrevalenceRatio("c"), outputs) == pytest.approx(p[:, 2].mean() / y[:, 2].mean(), rel=1e-5)


def test_exclusive_scores_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    cls = rng.choice(3, size=300, p=[0.1, 0.7, 0.2])
    y = np.eye(3, dtype=np.float32)[cls]
    p = (0.6 * y + rng.random((300, 3))).astype(np.float32)
    outputs = LabelOutputs.of(HEADS, torch.from_numpy(p), torch.from_numpy(y))
    pred = p.argmax(1)
    assert _run(ExclusiveF1(3, "weighted"), outputs) == pytest.approx(
        skm.f1_score(cls, pred, average="weighted"), abs=1e-5
    )
    assert _run(ExclusiveF1(3, "macro"), outputs) == pytest.approx(skm.f1_score(cls, pred, average="macro"), abs=1e-5)
    assert _run(ExclusiveScore("a", "precision", 3), outputs) == pytest.approx(
        skm.precision_score(cls == 0, pred == 0), abs=1e-5
    )
    assert _run(ExclusiveScore("a", "recall", 3), outputs) == pytest.approx(
        skm.recall_score(cls == 0, pred == 0), abs=1e-5
    )


def test_operating_point_is_the_lowest_threshold_with_the_precision() -> None:
    from framework.tasks.multi_label.recipe import operating_point

    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.1).astype(float)
    p = np.round(np.clip(0.4 * y + rng.random(500) * 0.6, 0, 1), 2)  # ties
    for target in (0.5, 0.8):
        t = operating_point(p, y, target)
        ok = [u for u in np.unique(p) if y[p >= u].mean() >= target]
        assert t == pytest.approx(min(ok))
    assert operating_point(np.full(10, 0.5), np.r_[np.ones(1), np.zeros(9)], 0.9) == np.inf


def test_stratified_split_gives_each_class_with_three_positives_one_per_split() -> None:
    from framework.data.moderation.datamodule import stratified_parts

    labels = np.zeros((200, 2), np.float32)
    labels[[3, 50, 120], 0] = 1  # 3 positives of a rare class
    labels[::10, 1] = 1
    part = stratified_parts(labels, [0.7, 0.15, 0.15], seed=0)
    for k in range(3):
        assert labels[part == k, 0].sum() >= 1 and labels[part == k, 1].sum() >= 1
    assert np.array_equal(part, stratified_parts(labels, [0.7, 0.15, 0.15], seed=0))
    assert abs((part == 0).mean() - 0.7) < 0.05


def test_focal_loss_with_gamma_zero_is_bce_and_down_weights_easy_examples() -> None:
    from framework.tasks.multi_label.module import focal_loss

    logits, target = torch.tensor([[4.0, -4.0, 0.0]]), torch.tensor([[1.0, 0.0, 1.0]])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert torch.allclose(focal_loss(logits, target, 0.0), bce)
    ratio = focal_loss(logits, target, 2.0) / bce
    assert ratio[0, 0] < 0.001 and ratio[0, 2] == pytest.approx(0.25)  # easy ones nearly vanish; p=0.5: (0.5)^2


def test_recalibration_shifts_the_learned_odds_back_to_the_true_rate() -> None:
    # a logit shift by log(r) turns the odds learned on negatives kept at rate r back into the true odds
    from framework.tasks.multi_label.module import ClassProbabilities

    rates, true_p = [0.1, 1.0], 0.01
    learned = [true_p / (true_p + (1 - true_p) * r) for r in rates]  # P(positive) among the kept rows

    class Learned(torch.nn.Module):  # a model that learnt exactly the kept rows' odds, per class
        def forward(self, tokens, image, author):
            p = torch.tensor(learned, dtype=torch.float64).expand(len(tokens), -1)
            return torch.log(p / (1 - p))

    scorer = ClassProbabilities(Learned(), [float(np.log(r)) for r in rates])  # the shift the recipe passes
    prob = scorer(torch.zeros(3, 4, dtype=torch.long), torch.zeros(3, 2), torch.zeros(3, 2))
    assert prob.shape == (3, 2) and torch.allclose(prob, torch.full((3, 2), true_p), atol=1e-6)


def test_tokens_vocabulary_and_padding() -> None:
    from framework.data.moderation.datamodule import encode_tokens, fit_vocabulary, pack_texts, unpack_texts

    texts = pl.Series(["Hello, hello WORLD", "world's end", None, "héllo ünïcode"])
    vocab = fit_vocabulary(texts, vocab_size=10, min_count=1)
    assert vocab["token"][0] == "hello" and vocab["id"][0] == 2  # the most frequent first
    ids = encode_tokens(pl.Series(["hello unseen", ""]), vocab, max_tokens=3)
    assert ids.tolist() == [[2, 1, 0], [0, 0, 0]]  # 1 = out of vocabulary, 0 = padding
    data, offsets = pack_texts(texts)
    assert unpack_texts(data, offsets) == ["Hello, hello WORLD", "world's end", "", "héllo ünïcode"]
