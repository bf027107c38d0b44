"""Experiment presets (conf/experiment/*.yaml): each composes as a multirun over seeds, each runs in debug mode,
and a preset's multirun directory makes a report with the numbers of its runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser

from framework.config_dir import CONF_DIR
from tests.compare.test_report import compare_main
from tests.conftest import FAST, read_run, run_cli

PRESETS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def _compose(preset: str, *overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("run", overrides=[f"experiment={preset}", *overrides], return_hydra_config=True)


def _jobs(sweep_params: dict) -> int:
    """Jobs of a basic-sweeper grid: the product of each parameter's number of values."""
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in sweep_params.items()])
    return math.prod(len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1 for o in parsed)


def test_there_are_ad_click_presets() -> None:
    assert {"ad_click_models", "ad_click_embedding_dim", "ad_click_hashing"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_is_a_multirun_over_seeds_and_debug_wins(preset: str) -> None:
    cfg = _compose(preset, "debug=fast")
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.sweeper._target_.endswith("BasicSweeper")
    assert _jobs({str(k): str(v) for k, v in cfg.hydra.sweeper.params.items()}) >= 2
    assert f"/{preset}/" in cfg.hydra.sweep.dir and f"experiment:{preset}" in cfg.tags
    assert cfg.trainer.max_epochs == 1 and cfg.trainer.limit_train_batches == 3  # debug=fast is applied last


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.startswith("ad_click_")])
def test_ad_click_presets_replicate_over_at_least_three_seeds(preset: str) -> None:
    params = _compose(preset).hydra.sweeper.params
    seeds = str(params.seed).split(",")
    assert len(seeds) >= 3, "a comparison needs seeds to tell noise from differences"
    assert _jobs({str(k): str(v) for k, v in params.items()}) >= 3 * len(seeds)
    if preset in ("ad_click_models", "ad_click_negative_rate"):  # BENCHMARKS.md / README claims: five seeds
        assert seeds == ["1", "2", "3", "4", "5"]


def test_ad_click_models_sweeps_every_ad_click_model() -> None:
    """Every conf/model whose model serves the ctr kind, so a new one joins the comparison."""
    from omegaconf import OmegaConf

    from framework.signatures import read_signature

    swept = str(_compose("ad_click_models").hydra.sweeper.params.model).split(",")
    ranking = {
        p.stem
        for p in (CONF_DIR / "model").glob("*.yaml")
        if "ctr" in (read_signature(str(OmegaConf.load(p)._target_)).tasks or ())
    }
    assert swept[0] == "lr" and sorted(swept) == sorted(ranking)


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_runs_in_debug_mode(preset: str, tmp_path: Path) -> None:
    """The whole grid with one seed (a command-line seed replaces the preset's seeds)."""
    params = {str(k): str(v) for k, v in _compose(preset).hydra.sweeper.params.items()}
    expected = _jobs({**params, "seed": "1"})
    assert run_cli(f"experiment={preset}", *FAST, "seed=1", f"hydra.sweep.dir={tmp_path}") == 0
    runs = sorted(tmp_path.glob("*/run.json"))
    assert len(runs) == expected
    assert all(read_run(r.parent)["status"] == "finished" for r in runs)
    assert compare_main(str(tmp_path)) == 0 and (tmp_path / "report" / "report.html").exists()


def test_a_preset_multirun_makes_a_report_of_its_runs(tmp_path: Path) -> None:
    """experiment=ad_click_models with two models and two seeds, then compare.py on its directory."""
    assert run_cli("experiment=ad_click_models", *FAST, "model=lr,fm", "seed=1,2", f"hydra.sweep.dir={tmp_path}") == 0
    import json

    assert compare_main(str(tmp_path)) == 0
    [case] = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert case["axes"] == ["model"] and case["baseline"] == "model=lr"
    fm = case["choices"][1]
    assert fm["choice"] == "model=fm" and fm["seeds"] == [1, 2]
    values = [read_run(tmp_path / str(job))["metrics"]["test/nce"] for job in (2, 3)]  # jobs 2, 3: fm seeds 1, 2
    assert fm["values"]["test/nce"]["mean"] == pytest.approx(sum(values) / 2)
    assert fm["values"]["test/nce"]["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    lr = [read_run(tmp_path / str(job))["metrics"]["test/nce"] for job in (0, 1)]
    assert fm["diffs"]["test/nce"]["mean_diff"] == pytest.approx((values[0] - lr[0] + values[1] - lr[1]) / 2)
