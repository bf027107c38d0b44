"""The recipe a run takes instead of its kind's when `retraining` is set (framework.pipeline picks it): the
log in time windows, then the replay. Kept out of the ctr recipe so the task kinds never import monitoring
(monitoring builds on them: it trains the ctr kind's CTRTask)."""

from __future__ import annotations

from framework.monitoring.replay import run_replay as run_case
from framework.monitoring.windows import load_windows as load_data

__all__ = ["load_data", "run_case"]
