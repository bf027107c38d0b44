"""Drift detectors on planted drifts: they fire on a shifted sample (or after a change point in a stream)
and stay quiet on a sample of the same distribution (or before the change)."""

from __future__ import annotations

import numpy as np
import pytest

from framework.monitoring.detectors import StreamDetector, chunk_means, ks, psi, psi_categorical, score_window


def test_psi_of_a_same_distribution_sample_is_near_zero_and_of_a_shifted_one_is_large() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert psi(reference, rng.normal(0, 1, 20_000)) < 0.01
    assert psi(reference, rng.normal(0.5, 1, 20_000)) > 0.2  # half a standard deviation: a "real shift"


def test_psi_by_hand_on_two_bins() -> None:
    # Reference split 50/50 at its median; the current sample puts 80% below it:
    # PSI = (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5)
    reference = np.array([0.0] * 50 + [1.0] * 50)
    current = np.array([0.0] * 80 + [1.0] * 20)
    expected = 0.3 * np.log(1.6) + (-0.3) * np.log(0.4)
    assert psi(reference, current, bins=2) == pytest.approx(expected)


def test_categorical_psi_sees_popular_ids_move_and_new_ids_appear() -> None:
    rng = np.random.default_rng(1)
    ranks = lambda n: np.minimum(rng.zipf(1.3, n), 5000)  # noqa: E731
    reference = ranks(20_000)
    assert psi_categorical(reference, ranks(20_000)) < 0.02
    assert psi_categorical(reference, ranks(20_000) + 3) > 1.0  # the head moved to other ids


def test_ks_statistic_and_p_value() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(0, 1, 5_000)
    d_same, p_same = ks(reference, rng.normal(0, 1, 5_000))
    d_shift, p_shift = ks(reference, rng.normal(0.3, 1, 5_000))
    assert d_same < 0.04 and p_same > 0.01
    assert d_shift > 0.08 and p_shift < 1e-6


def test_score_window_reads_ids_by_psi_and_the_rest_by_the_method() -> None:
    rng = np.random.default_rng(3)
    ref = {"C1": rng.integers(0, 10, 5000), "I1": rng.normal(0, 1, 5000), "prediction": rng.uniform(0, 1, 5000)}
    cur = {"C1": rng.integers(0, 10, 5000), "I1": rng.normal(1, 1, 5000), "prediction": rng.uniform(0, 1, 5000)}
    scores = score_window("ks", ref, cur, categorical=["C1"])
    assert scores.worst_feature[0] == "I1" and scores.features["I1"] > 0.3  # D of a one-sigma shift ~ 0.38
    assert scores.features["C1"] < 0.01 and scores.predictions < 0.05


@pytest.mark.parametrize(("kind", "sensitivity"), [("adwin", 0.002), ("page_hinkley", 1.0)])
def test_river_detectors_fire_after_a_planted_change_and_not_before(kind: str, sensitivity: float) -> None:
    """A loss-like stream (chunk means around 0.30) whose mean rises by 0.15 at point 300. (ADWIN's bound
    assumes values in [0, 1]: it needs a change this large, or a much longer stream, with delta 0.002; on
    0.05 it stays silent for 300 points. Page-Hinkley fires within a few points.)"""
    rng = np.random.default_rng(4)
    stream = np.concatenate([rng.normal(0.30, 0.02, 300), rng.normal(0.45, 0.02, 300)])
    detector = StreamDetector(kind, sensitivity)
    fired = [i for i in range(len(stream)) if detector.update(stream[i : i + 1])]
    assert fired, f"{kind} missed the change"
    assert 300 <= fired[0] < 400, f"{kind} fired at {fired[0]}"
    detector.reset()  # a new model: a fresh stream, no memory of the old one
    assert not detector.update(rng.normal(0.30, 0.02, 300))


def test_chunk_means() -> None:
    assert chunk_means(np.arange(10.0), 4).tolist() == [1.5, 5.5]  # the partial last chunk is dropped
    assert chunk_means(np.arange(3.0), 4).tolist() == [1.0]  # fewer values than a chunk: their mean
