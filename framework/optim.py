"""LazyAdam: Adam that accepts sparse embedding gradients and touches only the rows a batch used.

torch.optim.Adam rejects sparse gradients and SparseAdam rejects dense ones; a CTR model has both (huge
embedding tables, small MLPs). Dense parameters get the usual Adam step (foreach-vectorised). For a
sparse gradient, the moments and values of the touched rows only are updated, as TensorFlow's
LazyAdam does: rows absent from a batch keep their moments instead of decaying them. The bias
correction uses the optimizer's global step count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


class LazyAdam(torch.optim.Optimizer):
    """Adam(W) for dense and sparse gradients. `decoupled_weight_decay=True` gives AdamW."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if lr <= 0 or eps <= 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid LazyAdam hyper-parameters lr={lr} betas={betas} eps={eps} wd={weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _state(self, p: torch.Tensor) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd, decoupled = (
                group["lr"],
                group["eps"],
                group["weight_decay"],
                group["decoupled_weight_decay"],
            )
            dense: list[tuple[torch.Tensor, torch.Tensor, dict]] = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._state(p)
                state["step"] += 1
                if p.grad.is_sparse:
                    self._sparse_step(p, p.grad, state, lr, beta1, beta2, eps, wd, decoupled)
                else:
                    dense.append((p, p.grad, state))
            if dense:
                self._dense_step(dense, lr, beta1, beta2, eps, wd, decoupled)
        return loss

    @staticmethod
    def _dense_step(items: list, lr: float, beta1: float, beta2: float, eps: float, wd: float, decoupled: bool) -> None:
        params = [p for p, _, _ in items]
        grads = [g for _, g, _ in items]
        exp_avg = [s["exp_avg"] for _, _, s in items]
        exp_avg_sq = [s["exp_avg_sq"] for _, _, s in items]
        if wd:
            if decoupled:
                torch._foreach_mul_(params, 1.0 - lr * wd)
            else:
                grads = torch._foreach_add(grads, params, alpha=wd)
        torch._foreach_lerp_(exp_avg, grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1.0 - beta2)
        for p, m, v, (_, _, state) in zip(params, exp_avg, exp_avg_sq, items, strict=True):
            step = float(state["step"])
            bias1, bias2 = 1.0 - beta1**step, 1.0 - beta2**step
            denom = (v / bias2).sqrt_().add_(eps)
            p.addcdiv_(m, denom, value=-lr / bias1)

    @staticmethod
    def _sparse_step(
        p: torch.Tensor,
        grad: torch.Tensor,
        state: dict,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        wd: float,
        decoupled: bool,
    ) -> None:
        if grad.sparse_dim() != 1:  # element-sparse (not row-sparse like nn.Embedding's): make it row-sparse
            grad = grad.to_dense().to_sparse(1)
        if grad.is_coalesced():
            rows, values = grad.indices()[0], grad.values()
        else:  # sum the gradients of ids repeated within the batch; 3x faster than grad.coalesce() on CPU
            rows, slot = torch.unique(grad._indices()[0], return_inverse=True)
            values = grad._values().new_zeros((rows.numel(), *grad.shape[1:])).index_add_(0, slot, grad._values())
        if wd:
            if decoupled:
                p.index_copy_(0, rows, p.index_select(0, rows) * (1.0 - lr * wd))
            else:
                values = values + wd * p.index_select(0, rows)
        m = state["exp_avg"].index_select(0, rows).lerp_(values, 1.0 - beta1)
        v = state["exp_avg_sq"].index_select(0, rows).mul_(beta2).addcmul_(values, values, value=1.0 - beta2)
        state["exp_avg"].index_copy_(0, rows, m)
        state["exp_avg_sq"].index_copy_(0, rows, v)
        step = float(state["step"])
        bias1, bias2 = 1.0 - beta1**step, 1.0 - beta2**step
        p.index_add_(0, rows, m.div_((v / bias2).sqrt_().add_(eps)).mul_(-lr / bias1))


def with_scheduler(
    optimizer: torch.optim.Optimizer, scheduler: Callable[..., object] | None, interval: str, monitor: str
) -> torch.optim.Optimizer | dict:
    """What a LightningModule's configure_optimizers returns: the optimizer, with its scheduler if any
    (`scheduler(optimizer=...)`, stepped every `interval`; plateau schedulers watch `monitor`)."""
    if scheduler is None:
        return optimizer
    config = {"scheduler": scheduler(optimizer=optimizer), "interval": interval, "monitor": monitor}
    return {"optimizer": optimizer, "lr_scheduler": config}
