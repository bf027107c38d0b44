"""The click log's planted change point (`days`, `drift_from_day`): stationary ids before it, moved after."""

from __future__ import annotations

import numpy as np
import pytest

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
