"""Building blocks shared by the ranking models.

Shapes: B = batch, F = categorical fields, D = numeric features, E = embedding dim.

    spec = data.prepare()                                  # a FeatureSpec
    emb = FusedEmbedding(spec.cardinalities, dim=16)       # one table for all fields
    e = emb(batch["categorical"])                          # [B, F, 16], a single lookup
    mlp = MLP(in_dim=F * 16, hidden_units=[256, 128])      # [B, 128]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class FusedEmbedding(nn.Module):
    """All categorical fields in one table: id i of field f is row offsets[f] + i.

    One embedding lookup per batch instead of a Python loop over fields. With sparse gradients on
    (`set_sparse`, done by the task) the gradient holds only the rows the batch touched, so the
    optimizer updates those rows only. The table is an `nn.Embedding` so that DDP recognises its
    sparse gradient and all-reduces it as such (gloo).
    """

    def __init__(self, cardinalities: Sequence[int], dim: int, init_std: float | None = 0.01) -> None:
        super().__init__()
        if not cardinalities:
            raise ValueError("FusedEmbedding needs at least one categorical field")
        offsets = torch.tensor([0, *list(cardinalities)[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.table = nn.Embedding(int(sum(cardinalities)), dim)
        if init_std is None:  # Xavier (Glorot) normal: std sqrt(2 / (rows + dim)), larger tables start smaller
            nn.init.xavier_normal_(self.table.weight)
        elif init_std > 0:
            nn.init.normal_(self.table.weight, std=init_std)
        else:
            nn.init.zeros_(self.table.weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # [B, F] -> [B, F, E]
        return self.table(ids + self.offsets)


class NumericEmbedding(nn.Module):
    """Numeric feature j becomes x_j * v_j, so it can interact with the categorical embeddings (FM, DeepFM)."""

    def __init__(self, n_features: int, dim: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, dim) * init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, D] -> [B, D, E]
        return x.unsqueeze(-1) * self.weight


class FieldEmbedding(nn.Module):
    """Every field, categorical or numeric, as one E-dim vector: [B, F + D, E]."""

    def __init__(self, cardinalities: Sequence[int], n_numeric: int, dim: int) -> None:
        super().__init__()
        self.categorical = FusedEmbedding(cardinalities, dim)
        self.numeric = NumericEmbedding(n_numeric, dim) if n_numeric else None
        self.n_fields = len(cardinalities) + n_numeric

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        e = self.categorical(categorical)
        return torch.cat([e, self.numeric(numeric)], dim=1) if self.numeric is not None else e


class FirstOrder(nn.Module):
    """The linear part: a weight per categorical id plus a linear layer over numeric features. -> [B]"""

    def __init__(self, cardinalities: Sequence[int], n_numeric: int) -> None:
        super().__init__()
        self.weights = FusedEmbedding(cardinalities, 1, init_std=0.0)
        self.numeric = nn.Linear(n_numeric, 1) if n_numeric else None
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        out = self.weights(categorical).sum(dim=(1, 2)) + self.bias
        return out + self.numeric(numeric).squeeze(-1) if self.numeric is not None else out


class MLP(nn.Sequential):
    """Linear -> [BatchNorm] -> ReLU -> [Dropout] per hidden layer; `MLP(429, [256, 128])` maps [B, 429] -> [B, 128]."""

    def __init__(
        self, in_dim: int, hidden_units: Sequence[int], dropout: float = 0.0, batch_norm: bool = False
    ) -> None:
        layers: list[nn.Module] = []
        for width in hidden_units:
            layers.append(nn.Linear(in_dim, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_dim = width
        super().__init__(*layers)
        self.out_dim = in_dim


def fm_interaction(e: torch.Tensor) -> torch.Tensor:
    """Sum over field pairs of <e_i, e_j> in O(F E): 0.5 * ((sum_i e_i)^2 - sum_i e_i^2). [B, F, E] -> [B]"""
    square_of_sum = e.sum(dim=1).pow(2)
    sum_of_squares = e.pow(2).sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_squares).sum(dim=1)


class CrossNetwork(nn.Module):
    """DCN (Wang et al. 2017): x_{l+1} = x_0 * (x_l . w_l) + b_l + x_l. Each layer adds one degree of crossing
    with 2d parameters; `CrossNetwork(429, 3)` maps [B, 429] -> [B, 429]."""

    def __init__(self, dim: int, n_layers: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_layers, dim) * (1.0 / dim) ** 0.5)
        self.b = nn.Parameter(torch.zeros(n_layers, dim))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        return _CrossLayers.apply(x0, self.w, self.b)


class _CrossLayers(torch.autograd.Function):
    """DCN's cross layers with a hand-written backward. The layers are a few element-wise passes over
    [B, d] around a matrix-vector product, so memory traffic sets their cost; autograd's backward of
    them makes about twice the passes this one does (a multiply by addcmul's value 1, a temporary per
    product). Checked against autograd in tests/unit/test_layers.py."""

    @staticmethod
    def forward(ctx, x0: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x, inputs, scales = x0, [], []
        for w_l, b_l in zip(w, b, strict=True):
            s = (x @ w_l).unsqueeze(-1)  # [B, 1]
            inputs.append(x)
            scales.append(s)
            x = torch.addcmul(b_l, x0, s).add_(x)
        ctx.save_for_backward(x0, w, *inputs, *scales)
        return x

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # type: ignore[override]
        x0, w, *saved = ctx.saved_tensors
        n = w.shape[0]
        inputs, scales = saved[:n], saved[n:]
        g_x0, g_w, g_b = torch.zeros_like(x0), torch.empty_like(w), torch.empty_like(w)
        for layer in reversed(range(n)):  # g: the gradient of this layer's output
            g_s = (g * x0).sum(-1)
            g_x0.addcmul_(g, scales[layer])
            torch.mv(inputs[layer].t(), g_s.to(inputs[layer].dtype), out=g_w[layer])
            torch.sum(g, 0, out=g_b[layer])
            g = torch.addr(g, g_s, w[layer])  # d/dx_l: identity plus the outer product through s
        return g_x0.add_(g), g_w, g_b


class CrossNetworkV2(nn.Module):
    """DCN-v2 (Wang et al. 2021): x_{l+1} = x_0 * (W_l x_l + b_l) + x_l, with W_l full (d x d) or low rank
    U_l V_l^T (rank r, 2dr parameters). `CrossNetworkV2(429, 3, low_rank=64)` maps [B, 429] -> [B, 429]."""

    def __init__(self, dim: int, n_layers: int, low_rank: int | None = None) -> None:
        super().__init__()
        if low_rank is None:
            self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_layers))
        else:
            self.layers = nn.ModuleList(
                nn.Sequential(nn.Linear(dim, low_rank, bias=False), nn.Linear(low_rank, dim)) for _ in range(n_layers)
            )

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:
            x = torch.addcmul(x, x0, layer(x))
        return x


def set_sparse(module: nn.Module, sparse: bool) -> None:
    """Switch every FusedEmbedding below `module` to sparse (or dense) gradients."""
    for m in module.modules():
        if isinstance(m, FusedEmbedding):
            m.table.sparse = sparse
