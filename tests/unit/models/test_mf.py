"""MF's initialisation: a fixed std, or Xavier (Glorot) per table as RecBole's BPR."""

import math

import pytest
import torch

from framework.data.interactions.table import InteractionSpec
from framework.data.tabular.features import Feature, FeatureSpec
from framework.models.retrieval.mf import MF


def _spec(n_users: int, n_items: int) -> InteractionSpec:
    user = FeatureSpec((Feature("user_id", "categorical", n_users),), "")
    item = FeatureSpec((Feature("item_id", "categorical", n_items),), "")
    return InteractionSpec(n_users, n_items, user, item)


def test_xavier_gives_each_table_its_own_std() -> None:
    torch.manual_seed(0)
    mf = MF(_spec(943, 1682), embedding_dim=64, init_std=None)  # MovieLens 100K's tables
    users, items = mf.users.table.weight.std().item(), mf.items.table.weight.std().item()
    assert users == pytest.approx(math.sqrt(2 / (943 + 64)), rel=0.02)  # 0.0446
    assert items == pytest.approx(math.sqrt(2 / (1682 + 64)), rel=0.02)  # 0.0338: the larger table starts smaller
    assert items < users


def test_a_fixed_std_is_used_for_both_tables() -> None:
    torch.manual_seed(0)
    mf = MF(_spec(2000, 3000), embedding_dim=32, init_std=0.1)
    assert mf.users.table.weight.std().item() == pytest.approx(0.1, rel=0.02)
    assert mf.items.table.weight.std().item() == pytest.approx(0.1, rel=0.02)
