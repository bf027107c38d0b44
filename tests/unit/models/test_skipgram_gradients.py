"""Skip-gram's hand-written gradient against autograd's, and the expected-negatives loss by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from framework.data.sessions.datamodule import SessionSpec
from framework.data.sessions.splits import Clicks
from framework.models.embedding.skipgram import SkipGram


def _model(n: int = 6, d: int = 3) -> SkipGram:
    model = SkipGram(SessionSpec(n, {}), embedding_dim=d)
    with torch.no_grad():  # word2vec starts the context table at zero: give it values to differentiate
        model.contexts.table.weight.normal_(generator=torch.Generator().manual_seed(1))
    return model


@pytest.mark.parametrize("sparse", [False, True])
def test_sampled_gradient_equals_autograds(sparse: bool) -> None:
    model = _model()
    model.vectors.table.sparse = model.contexts.table.sparse = sparse
    center, context = torch.tensor([0, 1, 1, 5]), torch.tensor([2, 3, 0, 5])
    negatives = torch.tensor([[4, 4], [0, 2], [5, 1], [3, 0]])  # repeated ids: gradients must add up
    model.loss(center, context, negatives).backward()
    got = [
        p.grad.to_dense() if p.grad.is_sparse else p.grad
        for p in (model.vectors.table.weight, model.contexts.table.weight)
    ]
    v = model.vectors.table.weight.detach().clone().requires_grad_()
    u = model.contexts.table.weight.detach().clone().requires_grad_()
    positive = (v[center] * u[context]).sum(1)
    negative = torch.einsum("bd,bkd->bk", v[center], u[negatives])
    (F.softplus(-positive) + F.softplus(negative).sum(1)).mean().backward()
    assert torch.allclose(got[0], v.grad, atol=1e-6) and torch.allclose(got[1], u.grad, atol=1e-6)


def test_expected_loss_by_hand() -> None:
    model = _model(n=3, d=2)
    with torch.no_grad():
        model.vectors.table.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        model.contexts.table.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, 2.0], [1.0, -1.0]]))
    w = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])  # expected draws per (center, item)
    center, context = torch.tensor([0, 0, 1]), torch.tensor([1, 2, 0])
    loss = model.expected_loss(center, context, lambda unique: w[unique])
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731 (softplus)
    # scores v_c . u_j: center 0 -> (0.5, 0, 1); center 1 -> (0, 2, -1)
    neg0 = 0.2 * sp(0.5) + 0.3 * sp(0.0) + 0.5 * sp(1.0)
    neg1 = 1.0 * sp(0.0) + 0.0 * sp(2.0) + 2.0 * sp(-1.0)
    pos = sp(-0.0) + sp(-1.0) + sp(-0.0)  # v0.u1 = 0, v0.u2 = 1, v1.u0 = 0
    assert math.isclose(float(loss.detach()), (pos + 2 * neg0 + neg1) / 3, rel_tol=1e-6)


def test_expected_negative_weights_are_k_noise_plus_m_uniform_in_market() -> None:
    from framework.tasks.session_embedding.module import SkipGramTask

    market = np.array([0, 0, 1, 1, 1])
    clicks = np.array([0, 0, 0, 1, 2, 3, 4, 4])  # counts 3, 1, 1, 1, 2
    data = SimpleNamespace(
        parts={"train": Clicks(np.zeros(len(clicks), np.int64), clicks, np.array([-1]))},
        spec=SessionSpec(5, {"market": 2}),
        item_features={"market": market},
    )
    task = SkipGramTask(SkipGram(data.spec, 2), {}, data, 5, 2, optimizer=torch.optim.SGD, negative_sampling="expected")
    w = task._negative_weights(torch.tensor([1, 3]))
    counts = np.array([3, 1, 1, 1, 2.0]) ** 0.75
    noise = 5 * counts / counts.sum()
    assert np.allclose(w[0].numpy(), noise + 2 * np.array([0.5, 0.5, 0, 0, 0]), atol=1e-6)
    assert np.allclose(w[1].numpy(), noise + 2 * np.array([0, 0, 1 / 3, 1 / 3, 1 / 3]), atol=1e-6)
    assert torch.allclose(w.sum(1), torch.tensor([7.0, 7.0]))  # k + m draws per pair


def test_expected_loss_gradient_equals_autograds() -> None:
    model = _model()
    w = torch.rand(6, 6, generator=torch.Generator().manual_seed(2))
    center, context = torch.tensor([0, 1, 1, 5, 0]), torch.tensor([2, 3, 0, 5, 4])
    model.expected_loss(center, context, lambda unique: w[unique]).backward()
    v = model.vectors.table.weight.detach().clone().requires_grad_()
    u = model.contexts.table.weight.detach().clone().requires_grad_()
    positive = F.softplus(-(v[center] * u[context]).sum(1)).sum()
    negative = (F.softplus(v[center] @ u.T) * w[center]).sum()  # one row per pair: the same as per center x count
    ((positive + negative) / len(center)).backward()
    assert torch.allclose(model.vectors.table.weight.grad, v.grad, atol=1e-6)
    assert torch.allclose(model.contexts.table.weight.grad, u.grad, atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
def test_shared_negatives_gradient_equals_autograds(sparse: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk's shared negatives score against every pair of that chunk (not of the other), weighted."""
    import framework.models.embedding.skipgram as skipgram

    monkeypatch.setattr(skipgram, "SHARED_CHUNK", 2)  # two chunks of two pairs, the last of one
    model = _model()
    model.vectors.table.sparse = model.contexts.table.sparse = sparse
    center, context = torch.tensor([0, 1, 1, 5, 2]), torch.tensor([2, 3, 0, 5, 4])
    market = torch.tensor([[4], [0], [5], [3], [1]])  # one per-pair negative
    shared = torch.tensor([[4, 4, 1], [0, 2, 3], [5, 1, 1]])  # [chunks, S], repeated ids add up
    model.loss(center, context, market, shared, 0.5).backward()
    got = [
        p.grad.to_dense() if p.grad.is_sparse else p.grad
        for p in (model.vectors.table.weight, model.contexts.table.weight)
    ]
    v = model.vectors.table.weight.detach().clone().requires_grad_()
    u = model.contexts.table.weight.detach().clone().requires_grad_()
    per_pair = F.softplus(-(v[center] * u[context]).sum(1)) + F.softplus((v[center] * u[market[:, 0]]).sum(1))
    chunk_of = torch.arange(len(center)) // 2
    drawn = torch.einsum("bd,bsd->bs", v[center], u[shared[chunk_of]])
    (per_pair + 0.5 * F.softplus(drawn).sum(1)).mean().backward()
    assert torch.allclose(got[0], v.grad, atol=1e-6) and torch.allclose(got[1], u.grad, atol=1e-6)


def test_shared_mode_draws_one_set_per_chunk_and_keeps_market_negatives_per_pair() -> None:
    from framework.models.embedding.skipgram import SHARED_CHUNK
    from framework.tasks.session_embedding.module import SkipGramTask

    market = np.array([0, 0, 1, 1, 1])
    clicks = np.array([0, 0, 0, 1, 2, 3, 4, 4])
    data = SimpleNamespace(
        parts={"train": Clicks(np.zeros(len(clicks), np.int64), clicks, np.array([-1]))},
        spec=SessionSpec(5, {"market": 2}),
        item_features={"market": market},
    )
    model = SkipGram(data.spec, 2)
    seen = {}

    def loss(center, context, negatives, shared=None, weight=1.0):  # records what the task draws
        seen.update(negatives=negatives, shared=shared, weight=weight)
        return torch.zeros((), requires_grad=True)

    model.loss = loss  # type: ignore[method-assign]
    task = SkipGramTask(
        model, {}, data, 5, 2, optimizer=torch.optim.SGD, negative_sampling="shared", shared_negatives=4
    )
    task.log = lambda *a, **k: None  # type: ignore[method-assign]
    center = torch.tensor([2] * (SHARED_CHUNK + 1))
    task.training_step({"center": center, "context": center}, 0)
    assert seen["shared"].shape == (2, 4) and seen["weight"] == 5 / 4
    assert seen["negatives"].shape == (len(center), 2)  # only the same-market ones, per pair
    assert set(seen["negatives"].unique().tolist()) <= {2, 3, 4}  # listing 2's market
