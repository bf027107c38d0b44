"""Every (case, model) pair that fits runs end to end on tiny data and writes a complete run.json.

The pairs come from conf/ (a model fits a case when its class declares the case's task kind), the metric
names from each case's eval suites: a new case, model or metric is covered without editing this file.
"""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from framework.config_dir import CONF_DIR
from framework.signatures import read_signature
from tests.configs.test_configs import compose_run
from tests.conftest import FAST, read_run, run_cli


def _case_kind(case: str) -> str:
    return str(OmegaConf.load(CONF_DIR / "case" / f"{case}.yaml").case.task)


def _model_kinds(model: str) -> tuple[str, ...]:
    return read_signature(str(OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")._target_)).tasks or ()


def _modality(model: str) -> str | None:
    """What a model encodes, where a kind serves several (contrastive_retrieval: images or videos)."""
    sig = read_signature(str(OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")._target_))
    return sig.attributes.get("modality") if sig is not None else None


def _case_modality(case: str) -> str | None:
    """The modality of the case's default model (`override /model: ...` in its defaults)."""
    for entry in OmegaConf.load(CONF_DIR / "case" / f"{case}.yaml").defaults:
        if OmegaConf.is_dict(entry) and "override /model" in entry:
            return _modality(str(entry["override /model"]))
    return None


def _fits(case: str, model: str) -> bool:
    return _case_kind(case) in _model_kinds(model) and _modality(model) in (None, _case_modality(case))


CASES = sorted(p.stem for p in (CONF_DIR / "case").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
PAIRS = [(case, model) for case in CASES for model in MODELS if _fits(case, model)]


def test_every_case_has_a_model_and_every_model_a_case() -> None:
    assert {case for case, _ in PAIRS} == set(CASES)
    assert {model for _, model in PAIRS} == set(MODELS)


def _suite_metrics(case: str, model: str) -> list[str]:
    """run.json metric names the case's eval suites promise: test/<name>, and <stage>/test/<name> for a
    stage with a suite of its own (e.g. retrieval.eval)."""
    cfg = compose_run(f"case={case}", f"model={model}")
    names = [f"test/{name}" for name in cfg.eval.metrics]
    for key in cfg:
        node = cfg.get(key)
        if key != "eval" and OmegaConf.is_dict(node) and OmegaConf.is_dict(node.get("eval")):
            names += [f"{key}/test/{name}" for name in node.eval.metrics]
    return names


@pytest.mark.parametrize(("case", "model"), PAIRS, ids=[f"{c}-{m}" for c, m in PAIRS])
def test_each_case_and_model_runs(case: str, model: str, tmp_path) -> None:
    assert run_cli(f"case={case}", f"model={model}", *FAST, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished"
    assert (record["case"], record["model"]) == (case, model)
    for name in _suite_metrics(case, model):
        value = record["metrics"][name]
        assert math.isfinite(value) and value >= 0.0, name
        # ranks, errors in label units, predicted / true prevalence (an untrained model's is far above 1)
        assert value < 10.0 or name.endswith(("mean_rank", "_mae", "_rmse", "_prevalence_ratio")), name
    assert {"setup", "data", "serving"} <= set(record["timings"])
    trained = record.get("trained", True)
    if trained:
        assert record["train_samples_per_s"] > 0
        assert any(phase.startswith("fit") for phase in record["timings"])
    else:  # a model without parameters (a link-prediction heuristic) is evaluated, not trained
        assert record["train_samples_per_s"] is None and record["epochs"] == 0 and "evaluate" in record["timings"]
    assert record["config"]["model"]["_target_"] == str(OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml")._target_)
    assert record["versions"]["torch"] and record["git"].keys() == {"commit", "dirty"}
    assert record["serving"]["p99_ms"] > 0
    if trained:  # a training history to plot
        assert (tmp_path / "plots" / "history.png").is_file() and record["plots"]["history"].endswith("history.png")
