"""LazyAdam: Adam(W) on dense gradients, row-lazy Adam on sparse ones."""

from __future__ import annotations

import pytest
import torch

from framework.optim import LazyAdam


def _train(optimizer_cls, params, grads, **kw):
    opt = optimizer_cls(params, **kw)
    for g in grads:
        for p, gi in zip(params, g, strict=True):
            p.grad = gi.clone()
        opt.step()
    return [p.detach().clone() for p in params]


@pytest.mark.parametrize(("decoupled", "reference"), [(False, torch.optim.Adam), (True, torch.optim.AdamW)])
def test_dense_step_equals_torch_adam(decoupled, reference) -> None:
    torch.manual_seed(0)
    start = [torch.randn(4, 3), torch.randn(5)]
    grads = [[torch.randn(4, 3), torch.randn(5)] for _ in range(6)]
    ours = _train(
        LazyAdam,
        [p.clone().requires_grad_() for p in start],
        grads,
        lr=0.01,
        weight_decay=0.1,
        decoupled_weight_decay=decoupled,
    )
    theirs = _train(reference, [p.clone().requires_grad_() for p in start], grads, lr=0.01, weight_decay=0.1)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_sparse_step_updates_only_touched_rows_like_sparse_adam() -> None:
    torch.manual_seed(0)
    table = torch.randn(6, 2)
    grads = [
        torch.sparse_coo_tensor(torch.tensor([[1, 4, 1]]), torch.randn(3, 2), (6, 2), check_invariants=True),
        torch.sparse_coo_tensor(torch.tensor([[4]]), torch.randn(1, 2), (6, 2), check_invariants=True),
    ]
    # row 1 appears twice in the first gradient: both optimizers sum it
    ours = _train(LazyAdam, [table.clone().requires_grad_()], [[g] for g in grads], lr=0.05)[0]
    theirs = _train(torch.optim.SparseAdam, [table.clone().requires_grad_()], [[g] for g in grads], lr=0.05)[0]
    assert torch.allclose(ours, theirs, atol=1e-6)
    untouched = [0, 2, 3, 5]
    assert torch.equal(ours[untouched], table[untouched])


@pytest.mark.parametrize("sparse_dim", [1, 2])  # row-sparse (nn.Embedding) or element-sparse
def test_sparse_equals_dense_when_every_row_is_touched(sparse_dim: int) -> None:
    torch.manual_seed(1)
    table = torch.randn(3, 2)
    dense_grads = [torch.randn(3, 2) for _ in range(4)]
    sparse_grads = [g.to_sparse(sparse_dim) for g in dense_grads]
    a = _train(LazyAdam, [table.clone().requires_grad_()], [[g] for g in dense_grads], lr=0.1)[0]
    b = _train(LazyAdam, [table.clone().requires_grad_()], [[g] for g in sparse_grads], lr=0.1)[0]
    assert torch.allclose(a, b, atol=1e-6)


def test_state_round_trips_through_a_checkpoint() -> None:
    p = torch.randn(3, requires_grad=True)
    opt = LazyAdam([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    clone = LazyAdam([p], lr=0.1)
    clone.load_state_dict(opt.state_dict())
    assert torch.equal(clone.state[p]["exp_avg"], opt.state[p]["exp_avg"])
    assert float(clone.state[p]["step"]) == 1.0


def test_bad_hyper_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="invalid LazyAdam"):
        LazyAdam([torch.zeros(1, requires_grad=True)], lr=-1.0)
