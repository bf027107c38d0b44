"""The multi-task ranking models: shapes, gradient routing, gates, batched experts, configs, and learning."""

from __future__ import annotations

import hydra
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from framework.config_dir import CONF_DIR
from framework.data.tabular.features import Feature, FeatureSpec
from framework.models.multitask.experts import Experts, GroupedLinear
from framework.models.multitask.mmoe import MMoE
from framework.models.multitask.ple import PLE, Extraction
from framework.models.multitask.shared_bottom import SharedBottom
from framework.models.multitask.single_task import SingleTask

CARDS = (7, 5, 3)
N_NUMERIC = 4
HEADS6 = ("click", "like", "share", "comment", "hide", "dwell")


def spec(cards: tuple[int, ...] = CARDS, n_numeric: int = N_NUMERIC) -> FeatureSpec:
    cats = tuple(Feature(f"c{i}", "categorical", c) for i, c in enumerate(cards))
    return FeatureSpec((*cats, *(Feature(f"x{j}", "numeric") for j in range(n_numeric))), label="y")


def batch(b: int = 16, cards: tuple[int, ...] = CARDS, n_numeric: int = N_NUMERIC, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    cat = torch.stack([torch.randint(0, c, (b,), generator=g) for c in cards], 1) if cards else torch.empty(b, 0)
    return cat.to(torch.int32).reshape(b, len(cards)), torch.randn(b, n_numeric, generator=g)


SMALL = {  # fast, small hyper-parameters for each model
    "single_task": lambda s, h: SingleTask(s, h, embedding_dim=4, hidden_units=[16, 8]),
    "shared_bottom": lambda s, h: SharedBottom(s, h, embedding_dim=4, bottom_units=[16, 8], tower_units=[8]),
    "mmoe": lambda s, h: MMoE(s, h, embedding_dim=4, n_experts=3, expert_units=[16], tower_units=[8]),
    "ple": lambda s, h: PLE(s, h, embedding_dim=4, levels=2, shared_experts=3, specific_experts=1, expert_units=[8]),
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("heads", [("click",), HEADS6])
@pytest.mark.parametrize(("cards", "n_numeric"), [(CARDS, N_NUMERIC), ((), N_NUMERIC), (CARDS, 0)])
def test_output_is_one_column_per_head(name: str, heads: tuple[str, ...], cards: tuple, n_numeric: int) -> None:
    model = SMALL[name](spec(cards, n_numeric), heads)
    out = model(*batch(5, cards, n_numeric))
    assert out.shape == (5, len(heads)) and torch.isfinite(out).all()
    assert model.tasks == ("multi_task",)


def test_a_spec_without_features_is_rejected() -> None:
    with pytest.raises(ValueError, match="no categorical and no numeric"):
        SharedBottom(spec((), 0), ["click"])


def test_mmoe_gates_are_a_softmax_over_the_experts() -> None:
    model = MMoE(spec(), HEADS6, n_experts=5)
    g = model.gates(*batch(8))
    assert g.shape == (8, 6, 5)
    assert (g >= 0).all() and torch.allclose(g.sum(-1), torch.ones(8, 6))


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize(("shared", "specific"), [(4, 1), (1, 2), (0, 2), (2, 0)])
def test_ple_runs_with_any_mix_of_shared_and_specific_experts(levels: int, shared: int, specific: int) -> None:
    model = PLE(spec(), HEADS6[:3], levels=levels, shared_experts=shared, specific_experts=specific)
    out = model(*batch(4))
    assert out.shape == (4, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())  # every expert and gate is reached
    assert all(level.shared_gate is not None for level in model.levels[:-1]) and model.levels[-1].shared_gate is None


def test_ple_head_gate_reaches_own_and_shared_experts_only() -> None:
    # head 0's output depends on its own specific expert(s) and the shared ones, not on head 1's (1 level).
    model = PLE(spec(), ["a", "b"], levels=1, shared_experts=2, specific_experts=1, expert_units=[8])
    model(*batch(4))[:, 0].sum().backward()
    w = model.levels[0].experts.layers[0].weight.grad  # experts: [a's, b's, shared, shared]
    assert w[0].abs().sum() > 0 and w[2:].abs().sum() > 0 and w[1].abs().sum() == 0


def test_grouped_linear_and_experts_match_a_loop_of_linears() -> None:
    torch.manual_seed(0)
    experts = Experts(3, 6, [5, 4])
    x = torch.randn(7, 6)
    loops = []
    for e in range(3):
        h = x
        for layer in experts.layers:
            linear = nn.Linear(layer.weight.shape[1], layer.weight.shape[2])
            linear.weight.data, linear.bias.data = layer.weight[e].T.clone(), layer.bias[e, 0].clone()
            h = torch.relu(linear(h))
        loops.append(h)
    assert torch.allclose(experts(x), torch.stack(loops), atol=1e-6)  # a shared [B, in] input
    xs = torch.randn(3, 7, 6)  # one input per expert
    layer = GroupedLinear(3, 6, 2)
    expected = torch.stack([xs[e] @ layer.weight[e] + layer.bias[e] for e in range(3)])
    assert torch.allclose(layer(xs), expected, atol=1e-6)


def expert_loop(experts: Experts, e: int, x: torch.Tensor) -> torch.Tensor:
    """Expert e alone, layer by layer, from the stacked weights."""
    for layer in experts.layers:
        x = torch.relu(x @ layer.weight[e] + layer.bias[e])
    return x


def test_mmoe_matches_a_loop_over_heads_and_experts() -> None:
    torch.manual_seed(0)
    model = MMoE(spec(), ["a", "b", "c"], n_experts=3, expert_units=[6, 5], tower_units=[4])
    cat, num = batch(9)
    x, g = model.inputs(cat, num), model.gates(cat, num)
    f = [expert_loop(model.experts, k, x) for k in range(3)]
    expected = [model.towers.towers[t](sum(g[:, t, k : k + 1] * f[k] for k in range(3))) for t in range(3)]
    assert torch.allclose(model(cat, num), torch.cat(expected, dim=1), atol=1e-5)


@pytest.mark.parametrize(("shared", "specific"), [(3, 1), (1, 2)])
def test_ple_extraction_matches_a_loop_over_heads_and_experts(shared: int, specific: int) -> None:
    torch.manual_seed(0)
    T, S, K = 2, specific, shared
    layer = Extraction(T, 5, K, S, [4], dropout=0.0, shared_gate=True)
    inputs = torch.randn(T + 1, 7, 5)  # head 0's, head 1's, the shared input
    owner = [t for t in range(T) for _ in range(S)] + [T] * K  # expert e reads inputs[owner[e]]
    f = [expert_loop(layer.experts, e, inputs[owner[e]]) for e in range(T * S + K)]
    expected = []
    for t in range(T):
        mixed = [*range(t * S, (t + 1) * S), *range(T * S, T * S + K)]  # own experts, then the shared ones
        g = torch.softmax(inputs[t] @ layer.head_gates.weight[t] + layer.head_gates.bias[t], dim=-1)
        expected.append(sum(g[:, j : j + 1] * f[e] for j, e in enumerate(mixed)))
    s = torch.softmax(layer.shared_gate(inputs[T]), dim=-1)
    expected.append(sum(s[:, e : e + 1] * f[e] for e in range(T * S + K)))
    assert torch.allclose(layer(inputs), torch.stack(expected), atol=1e-5)


def test_single_task_networks_are_isolated() -> None:
    model = SingleTask(spec(), ["a", "b", "c"], embedding_dim=4, hidden_units=[8])
    model(*batch(8))[:, 0].sum().backward()
    for t, net in enumerate(model.network(t) for t in range(3)):
        grads = [p.grad for module in net for p in module.parameters()]
        if t == 0:
            assert all(g is not None and g.abs().sum() > 0 for g in grads)
        else:
            assert all(g is None or g.abs().sum() == 0 for g in grads)
    shared = {id(p) for p in model.network(0)[0].parameters()} & {id(p) for p in model.network(1)[0].parameters()}
    assert not shared


def test_shared_bottom_shares_the_bottom_not_the_towers() -> None:
    model = SharedBottom(spec(), ["a", "b"], embedding_dim=4, bottom_units=[8], tower_units=[4])
    model(*batch(8))[:, 0].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.bottom.parameters())
    assert model.inputs.embedding.table.weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.towers.towers[1].parameters())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_seeded_init_is_deterministic(name: str) -> None:
    states = []
    for _ in range(2):
        torch.manual_seed(3)
        states.append(SMALL[name](spec(), HEADS6[:2]).state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_yaml_instantiates_through_hydra(name: str) -> None:
    node = OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")
    model = hydra.utils.instantiate(node, _partial_=True)(feature_spec=spec(), heads=list(HEADS6))
    assert model(*batch(3)).shape == (3, 6)


def planted_two_task_problem(n: int = 256):
    """Head 0 (binary): a click iff x0 + (1.5 if field-0 id is even else -1.5) > 0: it needs the embedding and
    the numeric feature. Head 1 (regression): 2 x1 + (field-1 id) / 2."""
    cat, num = batch(n, seed=1)
    click = (num[:, 0] + 3 * (cat[:, 0] % 2 == 0).float() - 1.5 > 0).float()
    dwell = 2 * num[:, 1] + cat[:, 1].float() / 2
    return cat, num, click, dwell


@pytest.mark.parametrize("name", sorted(SMALL))
def test_training_learns_a_planted_two_task_problem(name: str) -> None:
    torch.manual_seed(0)
    cat, num, click, dwell = planted_two_task_problem()
    model = SMALL[name](spec(), ["click", "dwell"])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def losses() -> torch.Tensor:  # [bce of head 0, mse of head 1]
        out = model(cat, num)
        bce = nn.functional.binary_cross_entropy_with_logits(out[:, 0], click)
        return torch.stack([bce, nn.functional.mse_loss(out[:, 1], dwell)])

    with torch.no_grad():
        start = losses()
    for _ in range(150):
        optimizer.zero_grad()
        losses().sum().backward()  # the recipe's sum over heads
        optimizer.step()
    with torch.no_grad():
        end = losses()
    assert end[0] < 0.3 * start[0] and end[1] < 0.05 * start[1], (start, end)
