"""A study keeps the fixed config and search space it was created with: a smoke test gets its own study, and
an invocation that would mix incomparable trials into a study stops (exit 2) before any trial."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

from framework.config_dir import CONF_DIR
from framework.sweeps.guard import search_space
from framework.sweeps.plan import make_plan
from framework.sweeps.space import parse_params
from tests.conftest import run_cli
from tests.sweeps.helpers import TINY, load_study, states, write_sweep

REFUSED = (
    "was created with another fixed config or search space, so its trials and this sweep's would not be comparable"
)
ADVICE = "Pick a new sweep.study_name for this sweep (a new study), or set sweep.allow_changes=true"


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        return cfg, GlobalHydra.instance().config_loader()


def _plan(overrides: list[str]):
    cfg, loader = _compose(overrides)
    return make_plan(cfg, overrides, loader.get_group_options)


def test_a_debug_sweep_gets_its_own_study_name_and_folder() -> None:
    real, debug = _plan(["sweep=ad_click_dcn"]), _plan(["sweep=ad_click_dcn", "debug=fast"])
    assert (real.study_name, debug.study_name) == ("ad_click_dcn", "ad_click_dcn-debug_fast")
    assert real.study_dir.name == "ad_click_dcn" and debug.study_dir.name == "ad_click_dcn-debug_fast"
    assert _plan(["sweep=ad_click_dcn", "debug=overfit"]).study_name == "ad_click_dcn-debug_overfit"
    assert _plan(["sweep=ad_click_dcn", "debug=fast", "sweep.study_name=mine"]).study_name == "mine"  # as written


def test_the_fixed_config_leaves_out_what_varies_between_trials_workers_and_machines(monkeypatch) -> None:
    base = ["sweep=ad_click_dcn", "debug=fast"]
    plan = _plan(base)
    values, choices = plan.fixed_config["values"], plan.fixed_config["choices"]
    assert choices["debug"] == "fast" and choices["model"] == "dcn" and "sweep" not in choices
    # unresolved, as the guard keeps it: debug=fast caps rows at the dataset's debug_rows, else 4000
    assert values["dataset.max_rows"] == "${oc.select:dataset.debug_rows,4000}"
    assert values["seed"] == 42  # every trial trains with `seed`
    assert "model.embedding_dim" not in values and "optim.optimizer.lr" not in values  # searched
    assert "model.batch_norm" in values  # not searched
    for left_out in ("sweep.", "paths.", "logger.", "hydra.", "tags", "trainer.enable_progress_bar"):
        assert not any(k.startswith(left_out) for k in values), left_out

    # Another machine (other folders), another budget, bookkeeping, seeds of the sampler: the same study.
    monkeypatch.setenv("MLSD_OUTPUT_DIR", "/elsewhere/outputs")
    monkeypatch.setenv("MLSD_CACHE_DIR", "/elsewhere/cache")
    other = _plan([*base, "sweep.n_trials=50", "sweep.dir=/elsewhere/study", "sweep.heartbeat_interval=3"])
    assert other.fixed_config == plan.fixed_config and other.space == plan.space
    assert _plan([*base, "trainer.enable_progress_bar=false", "logger=csv"]).fixed_config == plan.fixed_config

    # A searched config group leaves its whole node out; the same space written differently is the same space.
    group = _plan(["sweep=ad_click_models"])
    assert "model" not in group.fixed_config["choices"]
    assert not any(k.startswith("model.") for k in group.fixed_config["values"])
    assert search_space(parse_params({"a": "range(1,5)"})) == search_space(parse_params({"a": "range(1, 5, 1)"}))


# -- end to end: one tiny study, then invocations that differ from it ---------------------------------------


def _args(config_dir: Path, study_dir: Path, *extra: str, debug: bool = True) -> list[str]:
    tiny = [a for a in TINY if debug or not a.startswith("debug=")]
    args = ["-m", "--config-dir", str(config_dir), "sweep=guard", "model=lr", f"sweep.dir={study_dir}"]
    return [*args, "sweep.plots=false", *tiny, *extra]


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A study of one complete trial, created by `_args(...)`: (config dir, study dir)."""
    root = tmp_path_factory.mktemp("guard")
    write_sweep(root, "guard", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    assert run_cli(*_args(root, root / "study"), "sweep.n_trials=1") == 0
    return root, root / "study"


@pytest.fixture
def study_dir(created: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the created study, for one test to add to."""
    copy = tmp_path / "study"
    copy.mkdir()
    shutil.copy(created[1] / "study.db", copy / "study.db")
    return copy


def _trials(study_dir: Path) -> dict[int, str]:
    return states(load_study(study_dir, "guard-debug_fast"))


@pytest.mark.slow
def test_the_study_records_what_it_was_created_with(created: tuple[Path, Path]) -> None:
    attrs = load_study(created[1], "guard-debug_fast").user_attrs
    assert attrs["search_space"] == {"optim.optimizer.lr": "float [0.001, 0.1] log"}
    assert attrs["fixed_config"]["choices"]["debug"] == "fast"
    assert attrs["fixed_config"]["values"]["dataset.max_rows"] == 2000


@pytest.mark.slow
def test_a_changed_fixed_key_is_refused_before_any_trial(created, study_dir: Path, capsys) -> None:
    capsys.readouterr()
    assert run_cli(*_args(created[0], study_dir, "sweep.n_trials=2", "dataset.max_rows=1500")) == 2
    err = capsys.readouterr().err
    assert "Study 'guard-debug_fast' in sqlite:///" in err and REFUSED in err and ADVICE in err
    assert "• dataset.max_rows: 2000 -> 1500" in err
    assert _trials(study_dir) == {0: "COMPLETE"} and not (study_dir / "trials").exists()


@pytest.mark.slow
def test_the_real_sweep_is_refused_in_the_debug_study(created, study_dir: Path, capsys) -> None:
    """The issue's case, with the study named by hand: the real sweep must not count the smoke test's trials."""
    capsys.readouterr()
    real = _args(created[0], study_dir, "sweep.study_name=guard-debug_fast", "sweep.n_trials=6", debug=False)
    assert run_cli(*real) == 2
    err = capsys.readouterr().err
    assert REFUSED in err and "• debug (config group): fast -> null" in err and "• trainer.max_epochs: 1 -> 3" in err
    assert _trials(study_dir) == {0: "COMPLETE"}


@pytest.mark.slow
def test_a_changed_search_space_is_refused(created, study_dir: Path, capsys) -> None:
    capsys.readouterr()
    added = "optim.optimizer.weight_decay=interval(0.0, 0.01)"
    assert run_cli(*_args(created[0], study_dir, "sweep.n_trials=2", added)) == 2
    err = capsys.readouterr().err
    assert REFUSED in err and "• search space optim.optimizer.weight_decay: (not searched) -> float [0.0, 0.01]" in err
    assert "optim.optimizer.weight_decay:" not in err.replace("search space optim.optimizer.weight_decay:", "")

    narrowed = "optim.optimizer.lr=tag(log, interval(1e-3, 1e-2))"
    assert run_cli(*_args(created[0], study_dir, "sweep.n_trials=2", narrowed)) == 2
    assert (
        "• search space optim.optimizer.lr: float [0.001, 0.1] log -> float [0.001, 0.01] log"
        in capsys.readouterr().err
    )
    assert _trials(study_dir) == {0: "COMPLETE"}


@pytest.mark.slow
def test_allow_changes_runs_in_the_study_anyway_and_keeps_its_record(created, study_dir: Path, capsys) -> None:
    capsys.readouterr()
    changed = _args(created[0], study_dir, "sweep.n_trials=2", "dataset.max_rows=1500", "sweep.allow_changes=true")
    assert run_cli(*changed) == 0
    out = capsys.readouterr().out
    assert "runs in a study created with another fixed config or search space (sweep.allow_changes=true)" in out
    assert "dataset.max_rows: 2000 -> 1500" in out
    assert _trials(study_dir) == {0: "COMPLETE", 1: "COMPLETE"}
    # The study still records how it was created: the changed command needs allow_changes again, the original not.
    assert load_study(study_dir, "guard-debug_fast").user_attrs["fixed_config"]["values"]["dataset.max_rows"] == 2000
    assert run_cli(*_args(created[0], study_dir, "sweep.n_trials=3", "dataset.max_rows=1500")) == 2


@pytest.mark.slow
def test_the_identical_command_resumes_also_from_another_machine(created, study_dir: Path, monkeypatch) -> None:
    """Same command, other folders (as a worker on another machine has) and a larger budget: the same study."""
    assert run_cli(*_args(created[0], study_dir, "sweep.n_trials=2")) == 0
    assert _trials(study_dir) == {0: "COMPLETE", 1: "COMPLETE"}

    elsewhere = study_dir.parent / "elsewhere"
    monkeypatch.setenv("MLSD_OUTPUT_DIR", str(elsewhere / "outputs"))
    monkeypatch.setenv("MLSD_CACHE_DIR", str(elsewhere / "cache"))
    storage = f"sweep.storage=sqlite:///{study_dir / 'study.db'}"
    assert run_cli(*_args(created[0], elsewhere / "study", "sweep.n_trials=3", storage)) == 0
    assert _trials(study_dir) == {0: "COMPLETE", 1: "COMPLETE", 2: "COMPLETE"}
    assert (elsewhere / "study" / "trials" / "0002" / "run.json").exists()
