"""Each strategy's decision on hand-made evidence, and the time windows."""

from __future__ import annotations

from omegaconf import OmegaConf

from framework.monitoring.detectors import DriftScores
from framework.monitoring.strategies import Evidence, decide, followup
from framework.monitoring.windows import equal_bounds

REFERENCE = {"nce": 0.90, "auroc": 0.75}


def _cfg(strategy: str, **keys):
    return OmegaConf.create({"strategy": strategy, **keys})


def _ev(served: int = 1, scored=None, drift=None, alarm: bool = False) -> Evidence:
    return Evidence(window=5, served=served, scored=scored, reference=REFERENCE, drift=drift, stream_alarm=alarm)


def test_never_never_retrains() -> None:
    assert not decide(_cfg("never"), _ev(served=100, scored={"nce": 2.0, "auroc": 0.5}, alarm=True)).retrain


def test_scheduled_retrains_every_n_windows_served() -> None:
    cfg = _cfg("scheduled", every=3)
    assert [decide(cfg, _ev(served=s)).retrain for s in (1, 2, 3)] == [False, False, True]


def test_performance_compares_with_the_reference_relatively() -> None:
    nce = _cfg("performance", metric="nce", threshold=0.02)
    assert not decide(nce, _ev()).retrain  # no labelled window yet
    assert not decide(nce, _ev(scored={"nce": 0.917, "auroc": 0.7})).retrain  # 1.9% worse
    decision = decide(nce, _ev(scored={"nce": 0.919, "auroc": 0.7}))  # 2.1% worse
    assert decision.retrain and "0.9190 vs reference 0.9000" in decision.reason
    auc = _cfg("performance", metric="auroc", threshold=0.02)
    assert not decide(auc, _ev(scored={"nce": 0.99, "auroc": 0.736})).retrain
    assert decide(auc, _ev(scored={"nce": 0.99, "auroc": 0.734})).retrain  # AUC is better high


def test_drift_on_features_predictions_or_both() -> None:
    scores = DriftScores({"C1": 0.5, "I1": 0.05}, predictions=0.01)
    features = _cfg("drift", detector="psi", watch="features", threshold=0.2)
    predictions = _cfg("drift", detector="psi", watch="predictions", threshold=0.2)
    both = _cfg("drift", detector="psi", watch="both", threshold=0.2)
    decision = decide(features, _ev(drift=scores))
    assert decision.retrain and "psi of C1 0.500 > 0.2" in decision.reason
    assert not decide(predictions, _ev(drift=scores)).retrain
    assert decide(both, _ev(drift=scores)).retrain


def test_drift_on_the_loss_stream_follows_the_detector() -> None:
    cfg = _cfg("drift", detector="adwin", watch=None, threshold=0.002)
    assert not decide(cfg, _ev()).retrain
    assert decide(cfg, _ev(alarm=True)).retrain


def test_an_alarm_says_from_which_window_the_data_changed() -> None:
    """Label-based alarms date the change to the scored window, feature drift to the window just served."""
    labelled = Evidence(9, 1, {"nce": 0.95, "auroc": 0.7}, REFERENCE, None, True, scored_window=7)
    assert decide(_cfg("performance", metric="nce", threshold=0.02), labelled).since == 7
    assert decide(_cfg("drift", detector="page_hinkley", watch=None, threshold=1.0), labelled).since == 7
    scores = DriftScores({"C1": 0.5}, predictions=0.01)
    psi = _cfg("drift", detector="psi", watch="features", threshold=0.2)
    assert decide(psi, _ev(drift=scores)).since == 5
    assert decide(_cfg("scheduled", every=1), _ev()).since is None  # a routine retrain dates nothing


def test_followup_retrains_once_the_training_windows_all_follow_the_change() -> None:
    cfg = _cfg("performance", train_windows=3, followup=True)
    # changed at window 7; the served model trained on 5-7: due once windows 7, 8, 9 are labelled
    assert [followup(cfg, 7, 5, labelled).retrain for labelled in (8, 9, 10, 11)] == [False, False, True, True]
    assert "all follow the change at window 7" in followup(cfg, 7, 5, 10).reason
    assert not followup(cfg, 7, 7, 10).retrain  # the served model learnt only from after the change
    assert not followup(cfg, None, 0, 10).retrain  # no alarm yet
    assert not followup(_cfg("performance", train_windows=3, followup=False), 7, 5, 10).retrain


def test_windows_are_equal_in_rows_and_cover_the_log() -> None:
    assert equal_bounds(10, 3).tolist() == [0, 3, 7, 10]
    assert equal_bounds(14_000, 14).tolist() == list(range(0, 14_001, 1000))
