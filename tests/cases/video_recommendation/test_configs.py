"""The video case's configs: model/task fit, ranker and index nodes, list lengths, datasets that fit the case."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hydra.utils import get_object, instantiate
from omegaconf import OmegaConf

from framework.config_dir import CONF_DIR
from framework.errors import ConfigError
from framework.signatures import read_signature
from framework.validation import check_data_fits_case, validate, validate_targets
from tests.configs.test_configs import compose_run


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["case=ad_click", "model=mf"], "Model MF does not fit case 'ad_click': the case is a 'ctr' task"),
        (["case=ad_click", "model=two_tower"], "Model TwoTower does not fit case 'ad_click'"),
        (["case=video_recommendation", "model=fm"], "use mf or two_tower (e.g. model=mf)"),
        (["case=video_recommendation", "model=dcn"], "Model DCN does not fit case 'video_recommendation'"),
        (["case=ad_click", "ranker=dnn"], "'ranker' applies to two_stage cases only"),
        (["case=ad_click", "index=hnsw"], "'index' applies to two_stage cases only"),
        (["case=video_recommendation", "case.serving.candidates_per_request=5"], "needs lists of 10 items"),
        (["case=video_recommendation", "retrieval.eval.monitor=recall@7"], "'retrieval.eval.monitor' is 'recall@7'"),
        (["case=video_recommendation", "retrieval.eval.mode=min"], "set retrieval.eval.mode=max"),
        (["case=video_recommendation", "retrieval.negatives=hard"], "'retrieval.negatives' must be one of"),
        (["case=video_recommendation", "retrieval.temperature=0"], "'retrieval.temperature' must be positive"),
        (["case=video_recommendation", "ranking.val_fraction=1.5"], "'ranking.val_fraction' must be between 0 and 1"),
        (["case=video_recommendation", "index=ivf", "+index.nprob=3"], "Unknown key 'index.nprob'"),
        (["case=video_recommendation", "+ranker.depth=3"], "Unknown key 'ranker.depth'"),
        (["case=video_recommendation", "dataset.split_strategy=by_week"], "'dataset.split_strategy' must be one of"),
    ],
)
def test_bad_video_configs_are_rejected(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate(compose_run(*overrides))
    assert message in str(info.value)


def test_defaults_and_choices() -> None:
    cfg = compose_run("case=video_recommendation")
    validate(cfg)
    validate_targets(cfg)
    assert cfg.model._target_.endswith(".TwoTower") and cfg.ranker._target_.endswith(".WideAndDeep")
    assert cfg.index._target_.endswith(".ExactIndex") and cfg.eval.monitor == "ndcg@10"
    assert cfg.retrieval.eval.monitor in cfg.retrieval.eval.metrics and cfg.retrieval.loss == "softmax"
    mf = compose_run("case=video_recommendation", "model=mf")
    assert mf.retrieval.loss == "bpr"  # conf/case_model/video_recommendation_mf.yaml
    assert compose_run("case=video_recommendation", "ranker=none").get("ranker") is None
    validate(compose_run("case=video_recommendation", "ranker=none"))


@pytest.mark.parametrize("group", ["ranker", "index"])
def test_ranker_and_index_yaml_keys_match_their_targets(group: str) -> None:
    for path in sorted((CONF_DIR / group).glob("*.yaml")):
        node = OmegaConf.load(path)
        if "_target_" not in node:
            continue  # ranker/none.yaml: no ranker
        params = inspect.signature(get_object(node._target_)).parameters
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), path
        keys = {str(k) for k in node if not str(k).startswith("_")}
        assert keys <= set(params), f"{path.name}: {keys - set(params)}"
        assert set(read_signature(node._target_).params) == set(params)


def test_every_index_builds() -> None:
    import numpy as np

    for path in sorted((CONF_DIR / "index").glob("*.yaml")):
        index = instantiate(OmegaConf.load(path))
        index.build(np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32))
        assert index.search(np.ones((2, 8), np.float32), 5)[1].shape == (2, 5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["case=ad_click", "dataset=movielens_100k", "dataset.path=x"], "gives user-item interactions, but case"),
        (["case=video_recommendation", "dataset=click_log_synthetic"], "gives rows of a click log, but case"),
        (["case=ad_click", "+dataset.split_strategy=random"], "'dataset.split_strategy' applies to two_stage cases"),
    ],
)
def test_datasets_must_fit_the_case(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_data_fits_case(compose_run(*overrides))
    assert message in str(info.value)
    if "movielens" in overrides[1]:
        assert "Datasets for 'ctr': avazu, click_log_synthetic, criteo" in str(info.value)


EXPERIMENTS = sorted(
    p.stem for p in (CONF_DIR / "experiment").glob("video_*.yaml") if "/case: video_recommendation" in p.read_text()
)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_video_preset_composes_and_each_of_its_runs_validates(experiment: str) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = compose_run(f"experiment={experiment}")
    assert cfg.case.name == "video_recommendation"
    params = OmegaConf.load(CONF_DIR / "experiment" / f"{experiment}.yaml").hydra.sweeper.params
    parser = OverridesParser.create()
    for key, values in params.items():
        sweep = parser.parse_override(f"{key}={values}")
        for value in sweep.sweep_iterator():
            validate(compose_run(f"experiment={experiment}", f"{key}={value}"))


def test_presets_exist() -> None:
    assert {"video_mf_vs_two_tower", "video_candidates", "video_exact_vs_ann"} <= set(EXPERIMENTS)
    assert Path(CONF_DIR / "case" / "video_recommendation.yaml").exists()
