"""Search spaces: Hydra's sweep syntax -> Optuna distributions, conditions, override text."""

from __future__ import annotations

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from framework.sweeps.space import (
    SpaceError,
    applies,
    canonical,
    grid_space,
    override_text,
    parse_param,
    parse_params,
    suggest,
)


def test_kinds_and_scales() -> None:
    lr = parse_param("optim.optimizer.lr", "tag(log, interval(1e-4, 1e-2))")
    assert (lr.kind, lr.low, lr.high, lr.log, lr.step) == ("float", 1e-4, 1e-2, True, None)
    dropout = parse_param("model.dropout", "interval(0.0, 0.5)")
    assert (dropout.kind, dropout.log) == ("float", False)
    layers = parse_param("model.cross_layers", "range(1, 5)")
    assert (layers.kind, layers.low, layers.high, layers.step) == ("int", 1, 4, 1)  # stop is exclusive
    dims = parse_param("model.embedding_dim", "range(16, 65, 16)")
    assert dims.grid_values() == [16, 32, 48, 64]
    ints = parse_param("x", "int(interval(2, 8))")
    assert (ints.kind, ints.low, ints.high) == ("int", 2, 8)
    log_ints = parse_param("x", "tag(log, range(1, 9))")
    assert (log_ints.kind, log_ints.log) == ("int", True)
    units = parse_param("model.hidden_units", "choice([256,128], [64])")
    assert units.kind == "categorical" and units.choices == ([256, 128], [64])
    assert units.optuna_choices == ["[256,128]", "[64]"]  # Optuna stores primitives only


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("choise(1, 2)", "cannot be parsed"),
        ("interval(1e-2, 1e-4)", "needs low < high"),
        ("tag(log, interval(0.0, 1.0))", "log scale needs low > 0"),
        ("tag(log, choice(1, 2))", "log tag applies to range"),
        ("tag(log, range(2, 20, 2))", "integers with step 1"),
        ("range(5, 1)", "is empty"),
        ("16", "is not a search space"),
        ({"space": "range(1, 3)", "if": {"model": "dcn"}}, "needs 'space'"),
        ({"space": "range(1, 3)", "when": {}}, "must map a key"),
    ],
)
def test_bad_spaces_name_the_parameter_and_the_syntax(spec: object, message: str) -> None:
    with pytest.raises(SpaceError, match=message) as info:
        parse_param("model.cross_layers", spec)
    assert "model.cross_layers" in str(info.value)


def test_override_text_reads_back_through_hydra() -> None:
    parser = OverridesParser.create()
    for value in [16, 0.00123, 1e-07, True, None, "dcn", "hello world", "it's", "16", [256, 128], [], [["C1", "C2"]]]:
        text = override_text(value)
        assert parser.parse_override(f"k={text}").value() == value, (value, text)
    assert canonical("[[C1,C2]]") == canonical([["C1", "C2"]]) == "[[C1,C2]]"


def test_conditions_order_and_apply() -> None:
    params = parse_params(
        {
            "model.cross_layers": {"space": "range(1, 5)", "when": {"model": ["dcn", "dcn_v2"]}},
            "model": "choice(lr, fm, dcn, dcn_v2)",
            "model.low_rank": {"space": "choice(16, 64)", "when": {"model": "dcn_v2"}},
        }
    )
    assert params[0].name == "model"  # the gating parameter is sampled first
    cross = next(p for p in params if p.name == "model.cross_layers")
    assert applies(cross, {"model": "dcn"}, {}) and not applies(cross, {"model": "fm"}, {})
    assert applies(cross, {}, {"model": "dcn_v2"})  # a fixed config choice counts too
    assert not applies(cross, {}, {})


def test_conditional_sampling_in_a_real_study() -> None:
    params = parse_params(
        {
            "model": "choice(lr, fm, dcn)",
            "model.embedding_dim": {"space": "choice(8, 16)", "when": {"model": ["fm", "dcn"]}},
            "model.cross_layers": {"space": "range(1, 4)", "when": {"model": "dcn"}},
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        values = suggest(trial, params, {})
        study.tell(trial, 0.0)
        expected = {"lr": {"model"}, "fm": {"model", "model.embedding_dim"}}.get(values["model"])
        assert set(values) == (expected or {"model", "model.embedding_dim", "model.cross_layers"})
    assert {t.params["model"] for t in study.trials} == {"lr", "fm", "dcn"}


def test_grid_needs_finite_unconditional_spaces() -> None:
    assert grid_space(parse_params({"a": "choice(1, 2)", "b": "range(0, 3)"})) == {"a": [1, 2], "b": [0, 1, 2]}
    with pytest.raises(SpaceError, match="continuous interval"):
        grid_space(parse_params({"a": "interval(0.0, 1.0)"}))
    with pytest.raises(SpaceError, match="unconditional"):
        grid_space(parse_params({"m": "choice(a, b)", "x": {"space": "choice(1, 2)", "when": {"m": "a"}}}))


def test_conditions_that_depend_on_each_other_are_refused() -> None:
    with pytest.raises(SpaceError, match="depend on each other"):
        parse_params(
            {
                "a": {"space": "choice(1, 2)", "when": {"b": 1}},
                "b": {"space": "choice(1, 2)", "when": {"a": 1}},
            }
        )
