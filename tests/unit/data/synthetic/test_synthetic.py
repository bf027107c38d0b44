"""The embedded click log: seeded, Criteo-shaped, and carrying the structure it claims to plant."""

from __future__ import annotations

import numpy as np
import pytest

from framework.data.synthetic import click_log
from framework.data.synthetic.click_log import generate


def test_same_seed_same_log_other_seed_other_log() -> None:
    a, b, c = generate(n_rows=2000, seed=1), generate(n_rows=2000, seed=1), generate(n_rows=2000, seed=2)
    assert a.frame.equals(b.frame)
    assert not a.frame.equals(c.frame)


def test_criteo_shape_ctr_and_missing_rates() -> None:
    t = generate(n_rows=50_000, seed=0, base_ctr=0.12)
    assert t.frame.columns == ["label", *[f"I{i}" for i in range(1, 14)], *[f"C{i}" for i in range(1, 27)]]
    assert t.frame["label"].mean() == pytest.approx(0.12, abs=0.01)
    assert t.frame["I12"].null_count() / 50_000 == pytest.approx(0.77, abs=0.02)
    assert t.frame["I2"].min() < 0  # Criteo's I2 has negative values
    counts = t.frame["C3"].drop_nulls().value_counts(sort=True)["count"].to_numpy()
    assert counts[0] > 50 * np.median(counts)  # power-law: a head of popular ids, a long tail


def test_max_rows_takes_the_first_rows_of_the_timeline() -> None:
    assert generate(n_rows=10_000, max_rows=1000).frame.height == 1000


def test_drift_brings_ids_the_train_part_never_saw() -> None:
    t = generate(n_rows=40_000, seed=0, drift=0.5)
    train, test = t.frame[:32_000], t.frame[36_000:]
    unseen = ~test["C12"].drop_nulls().is_in(train["C12"].drop_nulls().implode())
    assert unseen.mean() > 0.05


def test_planted_crosses_carry_signal_that_first_order_effects_do_not() -> None:
    captured: dict = {}
    original = click_log._click_logit_parts

    def capture(*args, **kwargs):
        captured.update(original(*args, **kwargs))
        return captured

    click_log._click_logit_parts = capture
    try:
        t = generate(n_rows=20_000, seed=0)
    finally:
        click_log._click_logit_parts = original
    y = t.frame["label"].to_numpy()
    pairwise = captured["pairwise"]
    assert pairwise.std() > 1.0  # crosses are a large part of the logit
    # a cross term cannot be written as a sum of per-field effects: check one planted pair's interaction
    # contrast on its ids: E[y | a, b] - E[y | a] - E[y | b] + E[y] is far from 0 for some cells
    a, b = click_log.CROSSES[0]
    ids = t.frame.select(f"C{a + 1}", f"C{b + 1}").to_numpy()
    top_a = np.unique(ids[:, 0], return_counts=True)
    top_b = np.unique(ids[:, 1], return_counts=True)
    va, vb = top_a[0][np.argsort(-top_a[1])[:2]], top_b[0][np.argsort(-top_b[1])[:2]]
    cell = [[y[(ids[:, 0] == i) & (ids[:, 1] == j)].mean() for j in vb] for i in va]
    interaction = cell[0][0] - cell[0][1] - cell[1][0] + cell[1][1]
    assert abs(interaction) > 0.02
