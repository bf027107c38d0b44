"""The contrastive losses against pytorch-metric-learning's and against the definitions written out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from framework.losses.contrastive import clip_loss, nt_xent, triplet_loss

pml = pytest.importorskip("pytorch_metric_learning", reason="pytorch-metric-learning (the reference) is not installed")
from pytorch_metric_learning import losses as pml_losses  # noqa: E402
from pytorch_metric_learning import miners, reducers  # noqa: E402


def _unit(*shape: int, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_nt_xent_equals_pytorch_metric_learning():
    z1, z2 = _unit(16, 8, seed=1), _unit(16, 8, seed=2)
    labels = torch.cat([torch.arange(16), torch.arange(16)])
    for tau in (0.1, 0.5):
        reference = pml_losses.NTXentLoss(temperature=tau)(torch.cat([z1, z2]), labels)
        assert nt_xent(z1, z2, tau).item() == pytest.approx(reference.item(), abs=1e-5)


def test_clip_loss_is_the_symmetric_cross_entropy_written_out():
    q, v = _unit(6, 4, seed=3), _unit(6, 4, seed=4)
    s = q @ v.T / 0.07
    by_hand = 0.0
    for i in range(6):
        by_hand += -torch.log_softmax(s[i], 0)[i] - torch.log_softmax(s[:, i], 0)[i]
    assert clip_loss(q, v, 0.07).item() == pytest.approx(by_hand.item() / 12, rel=1e-5)
    # two captions of one video: neither is the other's negative
    ids = torch.tensor([0, 0, 1, 2, 3, 4])
    masked = s.clone()
    masked[0, 1] = masked[1, 0] = float("-inf")
    expected = 0.5 * (F.cross_entropy(masked, torch.arange(6)) + F.cross_entropy(masked.T, torch.arange(6)))
    assert clip_loss(q, v, 0.07, ids).item() == pytest.approx(expected.item(), rel=1e-5)


def test_aligned_pairs_score_lower_than_shuffled_ones():
    q = _unit(32, 16, seed=5)
    assert clip_loss(q, q, 0.1) < clip_loss(q, q[torch.randperm(32, generator=torch.Generator().manual_seed(0))], 0.1)
    assert nt_xent(q, q + 0.01, 0.1) < nt_xent(q, _unit(32, 16, seed=6), 0.1)


@pytest.mark.parametrize("margin", [0.1, 0.5])
def test_batch_hard_triplet_equals_pytorch_metric_learning(margin):
    x, labels = _unit(24, 8, seed=7), torch.arange(24) % 5
    triplets = miners.BatchHardMiner()(x, labels)
    reference = pml_losses.TripletMarginLoss(margin=margin, reducer=reducers.MeanReducer())(x, labels, triplets)
    assert triplet_loss(x, labels, margin, "batch_hard").item() == pytest.approx(reference.item(), abs=1e-5)


def test_all_triplets_equal_pytorch_metric_learning_default_reducer():
    x, labels = _unit(20, 8, seed=8), torch.arange(20) % 4
    reference = pml_losses.TripletMarginLoss(margin=0.2)(x, labels)  # every triplet, mean over the non-zero
    assert triplet_loss(x, labels, 0.2, "all").item() == pytest.approx(reference.item(), abs=1e-5)


def test_semi_hard_picks_the_nearest_negative_beyond_the_positive():
    # 1-D points: anchor 0 (class 0) at 0, its positive at 1; negatives at 0.5 (hard), 1.5 and 3 (semi-hard: 1.5)
    x = torch.tensor([[0.0], [1.0], [0.5], [1.5], [3.0]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    loss = triplet_loss(x, labels, 1.0, "semi_hard")
    d = torch.cdist(x, x)
    # every (anchor, positive) pair and its semi-hard negative (or the hardest when none is farther)
    by_hand = []
    for a in range(5):
        for p in range(5):
            if a == p or labels[a] != labels[p]:
                continue
            negs = [n for n in range(5) if labels[n] != labels[a]]
            farther = [n for n in negs if d[a, n] > d[a, p]]
            n = min(farther or negs, key=lambda j: d[a, j])
            by_hand.append(max(0.0, float(d[a, p] - d[a, n] + 1.0)))
    assert loss.item() == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-5)


def test_gradients_are_finite_with_duplicate_points():
    x = torch.zeros(4, 3, requires_grad=True)
    triplet_loss(x, torch.tensor([0, 0, 1, 1]), 0.2, "batch_hard").backward()
    assert torch.isfinite(x.grad).all()


def test_supcon_equals_pytorch_metric_learning():
    from framework.losses.contrastive import supcon

    z, labels = _unit(24, 8, seed=9), torch.arange(24) % 6
    for tau in (0.1, 0.3):
        reference = pml_losses.SupConLoss(temperature=tau)(z, labels)
        assert supcon(z, labels, tau).item() == pytest.approx(reference.item(), abs=1e-5)
