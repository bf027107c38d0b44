"""The click log's planted change point (`days`, `drift_from_day`): stationary ids before it, moved after;
and the sudden change (`change`): the inventory turns over and the crosses' tastes move, once."""

from __future__ import annotations

import numpy as np
import pytest

from framework.data.synthetic import click_log
from framework.data.synthetic.click_log import generate


def _top_id_per_day(column: str, days: int, **kwargs) -> list[int]:
    frame = generate(n_rows=days * 1500, seed=0, days=days, **kwargs).frame
    values = frame[column].to_numpy()  # C10 has no missing values
    tops = []
    for day in range(days):
        ids, counts = np.unique(values[day * 1500 : (day + 1) * 1500], return_counts=True)
        tops.append(int(ids[np.argmax(counts)]))
    return tops


def test_popular_ids_stay_until_the_drift_day_then_move() -> None:
    # C10: 90,000 ids, no missing values; its head moves by 270 ranks a day once the drift has begun
    tops = _top_id_per_day("C10", days=8, drift_from_day=5)
    assert len(set(tops[:5])) == 1  # days 0-4: the same most popular id
    assert len(set(tops[5:])) == 3 and tops[5] != tops[4]  # from day 5 on: a new head every day


def test_the_default_drifts_from_the_second_day() -> None:
    tops = _top_id_per_day("C10", days=4)
    assert len(set(tops)) == 4


def test_bad_change_points_are_refused() -> None:
    with pytest.raises(ValueError, match="drift_from_day"):
        generate(n_rows=100, days=5, drift_from_day=5)


def _logit_parts(**kwargs) -> tuple[dict, np.ndarray]:
    """The planted click model's logit terms of a generated log, and its labels."""
    captured: dict = {}
    original = click_log._click_logit_parts

    def capture(*args, **kw):
        captured.update(original(*args, **kw))
        return captured

    click_log._click_logit_parts = capture
    try:
        table = generate(**kwargs)
    finally:
        click_log._click_logit_parts = original
    return captured, table.frame["label"].to_numpy()


def test_no_change_is_the_log_as_it_was() -> None:
    before = generate(n_rows=6000, seed=3, days=6, drift_from_day=3)
    assert before.frame.equals(generate(n_rows=6000, seed=3, days=6, drift_from_day=3, change=0.0).frame)


def test_the_sudden_change_turns_the_inventory_over_once_and_then_holds() -> None:
    # No slow drift: only the change moves the head, on day 4, and it stays there
    tops = _top_id_per_day("C10", days=8, drift_from_day=4, drift=0.0, change=0.8)
    assert len(set(tops[:4])) == 1 and len(set(tops[4:])) == 1 and tops[4] != tops[3]


def test_the_sudden_change_moves_what_users_like_and_only_after_it() -> None:
    kwargs = {"n_rows": 20_000, "seed": 0, "days": 10, "drift_from_day": 5, "drift": 0.0}
    stable, _ = _logit_parts(**kwargs)
    changed, labels = _logit_parts(**kwargs, change=0.8)
    before, after = slice(0, 10_000), slice(10_000, 20_000)
    # Before day 5 the click model is the same (up to the crosses' standardisation over the whole log);
    # after it the crosses' effects are largely new ones
    assert np.corrcoef(changed["pairwise"][before], stable["pairwise"][before])[0, 1] > 0.99
    assert np.corrcoef(changed["pairwise"][after], stable["pairwise"][after])[0, 1] < 0.6
    # ... so the old click model ranks the new clicks worse than the new one does: what retraining recovers
    import torch
    from torchmetrics.functional.classification import binary_auroc

    y = torch.from_numpy(labels[after])
    old = binary_auroc(torch.from_numpy(sum(stable.values())[after]).sigmoid(), y)
    new = binary_auroc(torch.from_numpy(sum(changed.values())[after]).sigmoid(), y)
    assert new > old + 0.05


def test_a_change_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="change must be in"):
        generate(n_rows=100, days=5, drift_from_day=2, change=1.5)
