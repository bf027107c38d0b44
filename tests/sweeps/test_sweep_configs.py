"""Every sweep config composes, validates and plans; bad sweep input stops with exit 2 before any trial."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

from framework.config_dir import CONF_DIR
from framework.sweeps.plan import make_plan
from framework.validation import validate
from tests.conftest import run_cli

SWEEPS = sorted(p.stem for p in (CONF_DIR / "sweep").glob("*.yaml"))
MODELS = ["lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2"]


def _plan(overrides: list[str], sweeps: tuple[str, ...] = ()):
    """Compose as the sweeper sees it (the command-line sweeps are passed to it, not composed)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        validate(cfg)
        loader = GlobalHydra.instance().config_loader()
        return cfg, make_plan(cfg, [*overrides, *sweeps], loader.get_group_options)


def test_one_sweep_per_ad_click_model_and_one_over_the_model_group() -> None:
    assert {f"ad_click_{m}" for m in MODELS} | {"ad_click_models"} <= set(SWEEPS)


@pytest.mark.parametrize("sweep", SWEEPS)
def test_sweep_config_composes_validates_and_plans(sweep: str) -> None:
    cfg, plan = _plan([f"sweep={sweep}"])
    assert cfg.hydra.sweeper._target_.endswith("MlsdSweeper")
    assert plan.study_name == sweep and plan.study_dir.name == sweep
    assert plan.storage_url == f"sqlite:///{(plan.study_dir / 'study.db').resolve()}"
    assert plan.metric == f"val/{cfg.eval.monitor}"  # the objective is the eval suite's, named nowhere else
    assert plan.direction == {"min": "minimize", "max": "maximize"}[cfg.eval.mode]
    assert plan.params
    model = sweep.removeprefix("ad_click_")
    if model in MODELS:
        assert cfg.hydra.runtime.choices.model == model  # the sweep picks its model


def test_model_group_sweep_is_conditional() -> None:
    _, plan = _plan(["sweep=ad_click_models"])
    names = [p.name for p in plan.params]
    assert names[0] == "model" and plan.params[0].choices == ("lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2")
    cross = next(p for p in plan.params if p.name == "model.cross_layers")
    assert cross.when == (("model", ("dcn", "dcn_v2")),)


def test_command_line_sweeps_add_and_fixed_values_remove_parameters() -> None:
    _, plan = _plan(["sweep=ad_click_dcn", "model.embedding_dim=32"], ("model.batch_norm=choice(true,false)",))
    names = {p.name for p in plan.params}
    assert "model.batch_norm" in names and "model.embedding_dim" not in names
    assert "model.embedding_dim=32" in plan.fixed and any("fixed on the command line" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep.sampler.name=bayes"], "'sweep.sampler.name' must be one of 'tpe', 'random', 'grid', got 'bayes'"),
        (["sweep.pruner.name=asha"], "'sweep.pruner.name' must be one of 'median', 'hyperband', 'none'"),
        (["sweep.n_trials=0"], "'sweep.n_trials' must be at least 1"),
        (["sweep.sampler.name=grid"], "grid sampler cannot enumerate"),
        (["sweep.sampler.nam=tpe"], "Unknown key 'sweep.sampler.nam'"),
        (["sweep.storage=localhost:5432"], "must be a database URL"),
        (
            ["model.embeding_dim=choice(8,16)"],
            "the config has no key 'model.embeding_dim'. Did you mean 'embedding_dim'?",
        ),
        (["model=choice(dcn,deepffm)"], "unknown model 'deepffm'. Did you mean 'deepfm'?"),
        (["optim.optimizer.lr=choise(1,2)"], "Unknown function 'choise'"),
        (["hardware=ddp_cpu"], "trials must train in one process"),
        (["sweep.storage=postgresql://nobody@127.0.0.1:1/none", "sweep.db_retries=0"], "Cannot reach the sweep's"),
    ],
)
def test_bad_sweep_input_exits_2_before_any_trial(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    code = run_cli("-m", "sweep=ad_click_dcn", f"sweep.dir={tmp_path}", "debug=fast", *args)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "study.db").exists()  # nothing was started


def _sweep_file(tmp_path: Path, params: str) -> list[str]:
    (tmp_path / "sweep").mkdir(exist_ok=True)
    (tmp_path / "sweep" / "mine.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - /sweep_defaults@sweep\n  - override /hydra/sweeper: mlsd\n"
        f"sweep:\n  params:\n{params}"
    )
    return ["-m", "--config-dir", str(tmp_path), "sweep=mine", f"sweep.dir={tmp_path / 'study'}", "debug=fast"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            "    optim.optimizer.lr: tag(log, interval(0, 1e-2))\n",
            "lr: tag(log, interval(0, 1e-2))': a log scale needs low > 0",
        ),
        ("    model.dropout: interval(0.0; 0.3)\n", "'model.dropout: interval(0.0; 0.3)' cannot be parsed"),
        (
            "    model.cross_layers: {space: 'range(1, 4)', when: {modle: dcn}}\n",
            "'modle' is neither a swept parameter",
        ),
        ("    model.cross_layers: {space: range(1, 4), when: {model: dcn}}\n", "quote the space"),
        ("    model.cross_layers: {values: range(1, 4)}\n", "needs 'space' (and optionally 'when')"),
    ],
)
def test_bad_search_space_in_a_sweep_file(params: str, message: str, tmp_path: Path, capsys) -> None:
    assert run_cli(*_sweep_file(tmp_path, params)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "study").exists()


def test_sweeper_without_a_sweep_config(tmp_path: Path, capsys) -> None:
    assert run_cli("-m", "hydra/sweeper=mlsd", f"hydra.sweep.dir={tmp_path}", "debug=fast") == 2
    assert "add sweep=<name>" in capsys.readouterr().err


def test_a_sweep_config_in_a_single_run_is_refused(tmp_path: Path, capsys) -> None:
    """hydra.mode=RUN would run once and ignore the search space: a config that does nothing is an error."""
    assert run_cli("sweep=ad_click_dcn", "hydra.mode=RUN", f"hydra.run.dir={tmp_path}", "debug=fast") == 2
    assert "add -m to run the study" in capsys.readouterr().err
