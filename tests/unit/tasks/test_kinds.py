"""The table of task kinds: every kind's parts exist where the table says, every case names a kind, and
reading the table (what --help and config errors do) imports nothing heavy."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from framework.config_dir import CONF_DIR
from framework.tasks import KINDS, kind_node_names, kind_of_node
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kind_has_its_recipe_and_config(name: str) -> None:
    kind = KINDS[name]
    recipe = importlib.import_module(kind.recipe)
    assert callable(recipe.load_data) and callable(recipe.run_case)
    assert kind.recipe == f"framework.tasks.{name}.recipe"  # one package per kind
    if kind.config is None:
        assert not kind.nodes and not kind.dataset_keys
        return
    config = importlib.import_module(kind.config)
    assert callable(config.check) and callable(config.extra_target_nodes)
    assert set(config.SCHEMAS) <= set(kind.nodes)
    assert {f.name for f in dataclasses.fields(config.DATASET_SCHEMA)} == set(kind.dataset_keys)


def test_every_case_names_a_kind_and_every_kind_has_a_case() -> None:
    kinds = {str(OmegaConf.load(path).case.task) for path in (CONF_DIR / "case").glob("*.yaml")}
    assert kinds == set(KINDS)


def test_a_node_belongs_to_one_kind_but_the_shared_index() -> None:
    owners: dict[str, list[str]] = {}
    for name, kind in KINDS.items():
        for node in kind.nodes:
            owners.setdefault(node, []).append(name)
    shared = {node: kinds for node, kinds in owners.items() if len(kinds) > 1}
    assert shared == {"index": ["two_stage", "contrastive_retrieval"]}  # the ANN index both search with
    names = kind_node_names()
    assert len(names) == len(set(names))
    assert kind_of_node("ranker") == "two_stage" and kind_of_node("model") is None


def test_reading_the_table_and_the_schemas_imports_no_torch() -> None:
    code = (
        "import sys, framework.tasks, framework.validation\n"
        "from framework.tasks import KINDS\n"
        "import importlib\n"
        "[importlib.import_module(k.config) for k in KINDS.values() if k.config]\n"
        "heavy = [m for m in ('torch', 'lightning', 'polars', 'optuna', 'wandb') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
