"""Every config composes, validates and instantiates; YAML keys match the signatures they feed."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from framework.checks import INJECTED
from framework.config_dir import CONF_DIR
from framework.data.tabular.features import Feature, FeatureSpec
from framework.schema import TrainerConfig
from framework.signatures import read_signature
from framework.validation import validate, validate_targets

CASES = sorted(p.stem for p in (CONF_DIR / "case").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


def compose_run(*overrides: str) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("run", overrides=list(overrides))


def model_tasks(model: str) -> tuple[str, ...]:
    target = OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")._target_
    return tuple(getattr(get_object(target), "tasks", ()))


@pytest.mark.parametrize("model", MODELS)
def test_model_yaml_keys_match_the_target_signature(model: str) -> None:
    node = OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")
    params = inspect.signature(get_object(node._target_)).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), "models take explicit arguments, no **kwargs"
    keys = {str(k) for k in node if not str(k).startswith("_")}
    assert keys <= set(params), f"keys not in {node._target_}: {keys - set(params)}"
    required = {n for n, p in params.items() if p.default is p.empty and n not in INJECTED}
    assert required <= keys
    # The fast (no-import) signature reader agrees with inspect.
    assert set(read_signature(node._target_).params) == set(params)


def _spec() -> FeatureSpec:
    cats = tuple(Feature(f"C{i}", "categorical", 5 + i) for i in range(3))
    return FeatureSpec((*cats, Feature("I1", "numeric"), Feature("I2", "numeric")), label="label")


CASE_MODELS = [(c, m) for c in CASES for m in MODELS]


@pytest.mark.parametrize(("case", "model"), CASE_MODELS, ids=[f"{c}-{m}" for c, m in CASE_MODELS])
def test_every_case_and_compatible_model_composes_and_instantiates(case: str, model: str) -> None:
    cfg = compose_run(f"case={case}", f"model={model}")
    if cfg.case.task not in model_tasks(model):
        with pytest.raises(Exception, match="does not fit case"):
            validate(cfg)
        return
    validate(cfg)
    if cfg.dataset.get("path", "") == "???":
        return  # a real-format dataset as the case default needs a file; covered by the data tests
    validate_targets(cfg)
    if cfg.case.task == "ctr":
        net = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=_spec())
        assert sum(p.numel() for p in net.parameters()) > 0
    for name, node in cfg.eval.metrics.items():
        assert instantiate(node) is not None, name


@pytest.mark.parametrize("dataset", sorted(p.stem for p in (CONF_DIR / "dataset").glob("*.yaml")))
def test_every_dataset_config_validates(dataset: str, tmp_path: Path) -> None:
    cfg = compose_run(f"dataset={dataset}")
    if "path" in cfg.dataset.keys() and OmegaConf.is_missing(cfg.dataset, "path"):  # noqa: SIM118 - ??? values
        cfg = compose_run(f"dataset={dataset}", f"dataset.path={tmp_path / 'file.txt'}")
    validate(cfg)
    validate_targets(cfg)


def test_trainer_schema_fields_are_trainer_arguments() -> None:
    from lightning.pytorch import Trainer

    trainer_params = set(inspect.signature(Trainer.__init__).parameters)
    schema_fields = set(TrainerConfig.__dataclass_fields__)
    assert schema_fields <= trainer_params, schema_fields - trainer_params


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        (
            "cpu",
            {"accelerator": "cpu", "devices": 1, "strategy": "auto", "precision": "32-true", "deterministic": True},
        ),
        ("gpu", {"accelerator": "gpu", "devices": 1, "precision": "bf16-mixed", "deterministic": "warn"}),
        ("multi_gpu", {"accelerator": "gpu", "devices": -1, "strategy": "ddp", "num_nodes": 1, "sync_batchnorm": True}),
        ("ddp_cpu", {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "precision": "32-true"}),
        ("multi_node", {"accelerator": "gpu", "devices": 8, "strategy": "ddp", "num_nodes": 4}),
    ],
)
def test_hardware_targets_compose_to_trainer_settings(hardware: str, expected: dict, monkeypatch) -> None:
    monkeypatch.setenv("MLSD_GPUS_PER_NODE", "8")
    monkeypatch.setenv("MLSD_NUM_NODES", "4")
    cfg = compose_run(f"hardware={hardware}")
    validate(cfg)
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    assert {k: trainer[k] for k in expected} == expected
    assert trainer["max_epochs"] == 3  # the run's own Trainer settings survive the hardware overlay


def test_sparse_embeddings_are_dense_under_gpu_ddp_only() -> None:
    from framework.training.optimizers import sparse_embeddings

    assert sparse_embeddings(compose_run("hardware=cpu"))
    assert sparse_embeddings(compose_run("hardware=ddp_cpu"))  # gloo all-reduces sparse tensors
    assert not sparse_embeddings(compose_run("hardware=multi_gpu"))  # NCCL does not
    assert not sparse_embeddings(compose_run("hardware=cpu", "optim.sparse_embeddings=false"))


def test_case_defaults_and_command_line_choice_wins() -> None:
    cfg = compose_run("case=ad_click")
    assert cfg.model._target_.endswith(".DCN") and cfg.dataset.name == "click_log_synthetic"
    assert compose_run("case=ad_click", "model=deepfm").model._target_.endswith(".DeepFM")
    assert cfg.case.design.latency_budget_ms > 0 and cfg.case.design.online_metrics


def test_design_card_lists_keep_each_item_whole() -> None:
    """A YAML flow list splits at every comma, parentheses or not: 'time (hour, weekday)' would become two
    broken items on the card. Block lists keep them whole."""
    for path in sorted(CONF_DIR.glob("case/*.yaml")):
        design = OmegaConf.load(path).case.design
        for key, value in design.items():
            if OmegaConf.is_list(value):
                broken = [str(item) for item in value if str(item).count("(") != str(item).count(")")]
                assert not broken, f"{path.name} design.{key}: {broken}"


def test_case_model_specialisation_applies_to_its_pair_only() -> None:
    assert compose_run("model=lr").optim.optimizer.lr == 0.01
    assert compose_run("model=dcn").optim.optimizer.lr == 0.002


def test_debug_fast_makes_a_small_run() -> None:
    cfg = compose_run("debug=fast")
    assert cfg.trainer.limit_train_batches == 3 and cfg.dataset.max_rows <= 10_000 and cfg.logger.kind == "none"
