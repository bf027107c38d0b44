"""Shared model blocks against their definitions, written out the slow way."""

from __future__ import annotations

import itertools

import pytest
import torch

from framework.data.tabular.features import Feature, FeatureSpec
from framework.models.layers import (
    MLP,
    CrossNetwork,
    CrossNetworkV2,
    FieldEmbedding,
    FirstOrder,
    FusedEmbedding,
    _CrossLayers,
    fm_interaction,
    set_sparse,
)

torch.manual_seed(0)


def test_fused_embedding_is_one_table_with_field_offsets() -> None:
    emb = FusedEmbedding([3, 5, 2], dim=4)
    ids = torch.tensor([[0, 4, 1], [2, 0, 0]], dtype=torch.int32)
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    table = emb.table.weight
    for b in range(2):
        for f, offset in enumerate([0, 3, 8]):
            assert torch.equal(out[b, f], table[offset + ids[b, f]])
    assert table.shape == (10, 4)


def test_sparse_gradient_touches_only_the_used_rows() -> None:
    emb = FusedEmbedding([3, 5], dim=2)
    set_sparse(emb, True)
    emb(torch.tensor([[1, 2]])).sum().backward()
    grad = emb.table.weight.grad
    assert grad.is_sparse
    assert sorted(grad.coalesce().indices()[0].tolist()) == [1, 5]


def test_fm_interaction_equals_the_sum_over_pairs() -> None:
    e = torch.randn(3, 5, 4)
    pairs = sum((e[:, i] * e[:, j]).sum(-1) for i, j in itertools.combinations(range(5), 2))
    assert torch.allclose(fm_interaction(e), pairs, atol=1e-5)


def _cross_by_autograd(x0: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """DCN's formula, written out: x_{l+1} = x_0 * (x_l . w_l) + b_l + x_l."""
    x = x0
    for layer in range(w.shape[0]):
        x = x0 * (x @ w[layer]).unsqueeze(-1) + b[layer] + x
    return x


def test_cross_network_follows_the_dcn_formula() -> None:
    net = CrossNetwork(dim=6, n_layers=2)
    with torch.no_grad():
        net.b.normal_()
    x0 = torch.randn(4, 6)
    assert torch.allclose(net(x0), _cross_by_autograd(x0, net.w, net.b), atol=1e-5)


def test_cross_network_gradients_match_autograd() -> None:
    net = CrossNetwork(dim=7, n_layers=3).double()
    with torch.no_grad():
        net.b.normal_()
    x0 = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_CrossLayers.apply, (x0, net.w, net.b))
    upstream = torch.randn(5, 7, dtype=torch.float64)
    ours = torch.autograd.grad(net(x0), (x0, net.w, net.b), upstream)
    reference = torch.autograd.grad(_cross_by_autograd(x0, net.w, net.b), (x0, net.w, net.b), upstream)
    for a, r in zip(ours, reference, strict=True):
        assert torch.allclose(a, r, atol=1e-10)


def test_cross_network_trains_under_bf16_autocast() -> None:  # what hardware=gpu runs, on the CPU
    net = CrossNetwork(dim=6, n_layers=2)
    x0 = torch.randn(8, 6, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x0)
    out.float().sum().backward()
    reference = torch.autograd.grad(_cross_by_autograd(x0, net.w, net.b).sum(), (x0, net.w, net.b))
    for a, r in zip((x0.grad, net.w.grad, net.b.grad), reference, strict=True):
        assert a.dtype == torch.float32
        assert torch.allclose(a, r, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("low_rank", [None, 3])
def test_cross_network_v2_follows_the_dcn_v2_formula(low_rank) -> None:
    net = CrossNetworkV2(dim=6, n_layers=2, low_rank=low_rank)
    x0 = torch.randn(4, 6)
    x = x0
    for layer in net.layers:
        if low_rank is None:
            w, b = layer.weight, layer.bias
        else:
            w, b = layer[1].weight @ layer[0].weight, layer[1].bias
        x = x0 * (x @ w.T + b) + x
    assert torch.allclose(net(x0), x, atol=1e-5)


def test_first_order_is_a_linear_model() -> None:
    lin = FirstOrder([3, 4], n_numeric=2)
    with torch.no_grad():
        lin.weights.table.weight.copy_(torch.arange(7.0).unsqueeze(-1))
        lin.numeric.weight.copy_(torch.tensor([[2.0, -1.0]]))
        lin.numeric.bias.zero_()
        lin.bias.fill_(0.5)
    out = lin(torch.tensor([[2, 1]]), torch.tensor([[1.0, 3.0]]))
    assert out.item() == pytest.approx(2 + (3 + 1) + (2 - 3) + 0.5)


def test_field_embedding_scales_numeric_vectors() -> None:
    fe = FieldEmbedding([3], n_numeric=2, dim=4)
    out = fe(torch.tensor([[1]]), torch.tensor([[2.0, 0.0]]))
    assert out.shape == (1, 3, 4)
    assert torch.allclose(out[0, 1], 2.0 * fe.numeric.weight[0])
    assert torch.all(out[0, 2] == 0)


def test_mlp_shapes_and_layers() -> None:
    mlp = MLP(10, [8, 4], dropout=0.1, batch_norm=True)
    assert mlp.out_dim == 4
    assert mlp(torch.randn(5, 10)).shape == (5, 4)
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout"]


SPEC = FeatureSpec((Feature("a", "categorical", 7), Feature("b", "categorical", 5), Feature("x", "numeric")), label="y")


@pytest.mark.parametrize("model", ["lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2"])
def test_every_ranking_model_maps_a_batch_to_one_logit_per_row(model: str) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from framework.config_dir import CONF_DIR

    cfg = OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")
    net = instantiate(cfg, _partial_=True, _convert_="all")(feature_spec=SPEC)
    logits = net(torch.tensor([[1, 2], [6, 4], [0, 0]]), torch.randn(3, 1))
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_wide_and_deep_crosses_name_real_fields() -> None:
    from framework.errors import ConfigError
    from framework.models.ranking.wide_deep import WideAndDeep

    with pytest.raises(ConfigError, match="Fields: a, b"):
        WideAndDeep(SPEC, wide_crosses=[["a", "nope"]])
    net = WideAndDeep(SPEC, wide_crosses=[["a", "b"]], wide_cross_buckets=11)
    assert net.crosses.table.weight.shape == (11, 1)
    assert net(torch.tensor([[1, 2]]), torch.randn(1, 1)).shape == (1,)
