"""Bad configs and bad data stop the run before training: exit code 2 and one message saying how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.tasks import KINDS
from tests.conftest import FAST, read_run, run_cli, shared_file

BAD_CONFIGS = [
    (["model=foo"], "Unknown model 'foo'. Available model options: dcn, dcn_v2, deepfm, dnn, fm, lr"),
    (["case=nope"], "Unknown case 'nope'. Available case options: ad_click"),
    (["hardware=tpu"], "Unknown hardware 'tpu'. Did you mean 'gpu'?"),
    (["case=video"], "Unknown case 'video'. Did you mean 'video_recommendation'?"),
    (["dataset=critteo"], "Unknown dataset 'critteo'. Did you mean 'criteo'?"),
    (["model.embeding_dim=8"], "Unknown key 'model.embeding_dim' in 'model'. Did you mean 'embedding_dim'?"),
    (["+model.embeding_dim=8"], "not a parameter of framework.models.ranking.dcn.DCN). Did you mean 'embedding_dim'?"),
    (["trainer.max_epochs=abc"], "'trainer.max_epochs' must be an integer, got 'abc'"),
    (["optim.optimizer.lr=fast"], "'optim.optimizer.lr' must be a number, got 'fast'"),
    (["model.cross_layers=2.5"], "'model.cross_layers' must be an integer, got 2.5"),
    (["logger.kind=tensorboard"], "'logger.kind' must be one of 'wandb', 'csv', 'none'"),
    (["dataset=criteo"], "'dataset.path' must be set"),
    (["dataset.split=[0.5,0.1]"], "'dataset.split' must be three positive fractions [train, valid, test]"),
    (["dataset.batch_size=-3"], "'dataset.batch_size' must be a positive integer, got -3"),
    (["dataset.features.hash_buckets=1"], "'dataset.features.hash_buckets' must be at least 2"),
    (["eval.monitor=auc"], "'eval.monitor' is 'auc', which is not a metric of this eval suite. Did you mean 'auroc'?"),
    (["eval.mode=max"], "the monitored metric 'nce' is better when lower: set eval.mode=min"),
    (["seed=[1"], "no viable alternative at input '[1'"),
    (["dataset.max_rows=-5"], "'dataset.max_rows' must be at least 1, got -5"),
    (["optim.optimizer.lr=-1"], "'optim.optimizer.lr' must be positive (a learning rate), got -1"),
    (["model.dropout=1.5"], "'model.dropout' must be in [0, 1), got 1.5"),
    (["trainer.max_epochs=0"], "'trainer.max_epochs' must be at least 1 (or -1: until early stopping), got 0"),
    (
        ["+optim.optimizer.momentum=0.9"],
        "Unknown key 'optim.optimizer.momentum' (not a parameter of framework.optim.LazyAdam)",
    ),
    (
        ["early_stopping.patence=2"],
        "Unknown key 'early_stopping.patence' in 'early_stopping'. Did you mean 'patience'?",
    ),
    (["case.task=two_stage"], "Model DCN does not fit case 'ad_click': the case is a 'two_stage' task"),
    (
        ["case.task=forecasting"],
        f"'case.task' is 'forecasting', which is not a task kind. Task kinds: {', '.join(sorted(KINDS))}",
    ),
    (
        ["optim.optimizer._target_=torch.optim.Adamm"],
        "'optim.optimizer._target_' is 'torch.optim.Adamm', which cannot be imported",
    ),
    (
        [
            "optim.optimizer._target_=torch.optim.SGD",
            "optim.optimizer.weight_decay=0.0",
            "+optim.optimizer.betas=[0.9,0.99]",
        ],
        "Unknown key 'optim.optimizer.betas' (not a parameter of torch.optim.SGD)",
    ),
    (
        ["eval.monitor=auroc"],
        "eval.mode is 'min', but the monitored metric 'auroc' is better when higher: set eval.mode=max",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_CONFIGS, ids=[" ".join(a) for a, _ in BAD_CONFIGS])
def test_bad_config_exits_2_with_a_clear_message(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    code = run_cli(*args, *FAST, f"hydra.run.dir={tmp_path}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing written, not even Hydra's files


def test_a_config_error_keeps_an_earlier_run_in_its_directory(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    assert run_cli("trainer.max_epochs=abc", f"hydra.run.dir={tmp_path}") == 2
    assert (tmp_path / "run.json").read_text() == "{}"


@pytest.mark.parametrize("flags", [["--cfg", "job"], ["-c", "job"], ["--cfg=job"], ["--config-dir", "CONF"]])
def test_did_you_mean_ignores_hydras_own_flags(flags: list[str], tmp_path: Path, capsys) -> None:
    from framework.config_dir import CONF_DIR

    flags = [str(CONF_DIR / "model") if f == "CONF" else f for f in flags]
    assert run_cli(*flags, "model.embeding_dim=3", f"hydra.run.dir={tmp_path}") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Did you mean 'embedding_dim'? Allowed keys in 'model': _target_, batch_norm" in err


def test_gpu_target_without_a_gpu_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: hardware=gpu is valid here")
    run_dir = tmp_path / "r"
    assert run_cli("hardware=gpu", *FAST, f"hydra.run.dir={run_dir}") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs a GPU, but torch" in err and "hardware=cpu" in err
    assert not run_dir.exists()


def _criteo(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "train.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _line(label: str = "0", fields: int = 39) -> str:
    return "\t".join([label, *["1"] * 13, *["abcdef12"] * (fields - 13)])


def test_missing_data_file(tmp_path: Path, capsys) -> None:
    code = run_cli("dataset=criteo", f"dataset.path={tmp_path / 'none.txt'}", *FAST, f"hydra.run.dir={tmp_path / 'r'}")
    assert code == 2
    assert "data error: Criteo file not found" in capsys.readouterr().err
    assert read_run(tmp_path / "r")["status"] == "failed"  # the record says why; no checkpoint was made
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_malformed_data_file_names_file_line_and_column(tmp_path: Path, capsys) -> None:
    path = _criteo(tmp_path, [_line(), _line(), _line(fields=37)])
    code = run_cli("dataset=criteo", f"dataset.path={path}", *FAST, f"hydra.run.dir={tmp_path / 'r'}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"{path}, line 3: expected 40 tab-separated fields, found 38" in err


def test_too_few_rows_for_the_split(tmp_path: Path, capsys) -> None:
    path = _criteo(tmp_path, [_line(), _line("1")])
    code = run_cli("dataset=criteo", f"dataset.path={path}", *FAST, f"hydra.run.dir={tmp_path / 'r'}")
    assert code == 2
    assert "2 rows are too few for the split" in " ".join(capsys.readouterr().err.split())


def test_wrong_format_for_the_dataset(tmp_path: Path, capsys) -> None:
    path = shared_file("criteo-display-advertising-challenge/dac_train_first1999.txt")
    code = run_cli("dataset=avazu", f"dataset.path={path}", *FAST, f"hydra.run.dir={tmp_path / 'r'}")
    assert code == 2
    assert "line 1 (header): missing column(s) id, click, hour" in " ".join(capsys.readouterr().err.split())


def test_resume_without_a_run_and_fresh_run_over_an_old_one(tmp_path: Path, capsys) -> None:
    assert run_cli(*FAST, "resume=true", f"hydra.run.dir={tmp_path}") == 2
    assert "resume=true, but" in capsys.readouterr().err
    assert run_cli(*FAST, f"hydra.run.dir={tmp_path}") == 0
    capsys.readouterr()
    assert run_cli(*FAST, f"hydra.run.dir={tmp_path}") == 2  # would overwrite the finished run
    assert "already holds a run" in " ".join(capsys.readouterr().err.split())


def test_a_data_error_comes_before_any_tracker(tmp_path: Path, capsys) -> None:
    """The design card, then one message: no W&B run is created for a run that never trained."""
    path = _criteo(tmp_path, [_line(), _line(fields=37)])
    run_dir = tmp_path / "r"
    args = ("dataset=criteo", f"dataset.path={path}", "logger.kind=wandb", "trainer.enable_progress_bar=false")
    code = run_cli(*args, f"hydra.run.dir={run_dir}")
    out, err = capsys.readouterr()
    assert code == 2
    assert "Objective" in out  # the design card
    assert next(line for line in err.splitlines() if line.strip()).startswith("data error:")
    assert not (run_dir / "wandb").exists() and not (run_dir / "wandb_id.txt").exists()
    assert read_run(run_dir)["status"] == "failed"
