"""Per-trial seeding (resume and workers never repeat parameters) and the pruning callback."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import optuna
import pytest
import torch
from omegaconf import OmegaConf

from framework.sweeps.pruning import OptunaPruning
from framework.sweeps.samplers import build_pruner, build_sampler
from framework.sweeps.space import parse_params, suggest

PARAMS = parse_params({"lr": "tag(log, interval(1e-4, 1e-1))", "dim": "choice(8, 16, 32, 64)", "layers": "range(1, 6)"})


def _sampler(name: str, seed: int | None = 7):
    return build_sampler(OmegaConf.create({"name": name, "seed": seed, "n_startup_trials": 2}), PARAMS)


def _run(study: optuna.Study, n: int) -> None:
    # A real objective of the sampled values, so TPE has something to model after its startup trials.
    study.optimize(lambda t: (lambda v: abs(v["lr"] - 0.01) + v["layers"] / v["dim"])(suggest(t, PARAMS, {})), n)


@pytest.mark.parametrize("name", ["tpe", "random"])
def test_resumed_study_samples_what_an_uninterrupted_one_does(name: str, tmp_path: Path) -> None:
    """Trial k is sampled with seed + k: 6 trials in one go == 3 trials, a new process, 3 more."""
    whole = optuna.create_study(storage=f"sqlite:///{tmp_path / 'a.db'}", sampler=_sampler(name))
    _run(whole, 6)
    url = f"sqlite:///{tmp_path / 'b.db'}"
    first = optuna.create_study(study_name="s", storage=url, sampler=_sampler(name))
    _run(first, 3)
    resumed = optuna.load_study(study_name="s", storage=url, sampler=_sampler(name))  # a fresh sampler, same seed
    _run(resumed, 3)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]
    assert len({t.params["lr"] for t in resumed.trials}) == 6  # never the same proposal twice


def test_workers_with_one_seed_do_not_propose_the_same_trials(tmp_path: Path) -> None:
    """Two samplers with the same seed on one study (two workers) get different trial numbers, so different seeds."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    a = optuna.create_study(study_name="s", storage=url, sampler=_sampler("random"))
    b = optuna.load_study(study_name="s", storage=url, sampler=_sampler("random"))
    ta, tb = a.ask(), b.ask()
    assert suggest(ta, PARAMS, {}) != suggest(tb, PARAMS, {})


def test_grid_sampler_covers_the_grid_once() -> None:
    params = parse_params({"dim": "choice(8, 16)", "layers": "range(1, 4)"})
    sampler = build_sampler(OmegaConf.create({"name": "grid", "seed": 1, "n_startup_trials": 0}), params)
    study = optuna.create_study(sampler=sampler)
    while not sampler.is_exhausted(study):
        study.optimize(lambda t: float(sum(suggest(t, params, {}).values())), n_trials=1)
    assert sorted((t.params["dim"], t.params["layers"]) for t in study.trials) == [
        (d, n) for d in (8, 16) for n in (1, 2, 3)
    ]


class _Fixed(L.LightningModule):
    """Trains a scalar; logs `val/loss` = `level` + a little per epoch, so the trial's quality is known."""

    def __init__(self, level: float) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.level = level

    def training_step(self, batch, batch_idx):
        return (self.w - batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.level + 0.01 * self.current_epoch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(trial: optuna.Trial, level: float, epochs: int = 4) -> float:
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 1)), batch_size=2)
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[OptunaPruning(trial, "val/loss")],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(_Fixed(level), data, data)
    return level


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruning_callback_stops_a_bad_trial_early(pruner: str) -> None:
    cfg = OmegaConf.create(
        {
            "name": pruner,
            "n_startup_trials": 1,
            "n_warmup_steps": 0,
            "min_resource": 1,
            "max_resource": 4,
            "reduction_factor": 2,
        }
    )
    study = optuna.create_study(pruner=build_pruner(cfg, max_epochs=4), study_name="prune")
    for level in (0.1, 0.2, 0.3):
        study.optimize(lambda t, level=level: _fit(t, level), n_trials=1)
    study.optimize(lambda t: _fit(t, 5.0), n_trials=1)
    bad = study.trials[-1]
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert len(bad.intermediate_values) < 4, bad.intermediate_values  # stopped before the last epoch
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(len(t.intermediate_values) == 4 for t in complete)


def test_nan_validation_is_pruned() -> None:
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    study.optimize(lambda t: _fit(t, float("nan")), n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED
