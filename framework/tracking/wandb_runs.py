"""What a finished run writes into its W&B summary besides the metrics (called by `pipeline._finish_trackers`).

Reading W&B runs back as run records, for comparisons, is `framework.compare.wandb_source`.
"""

from __future__ import annotations

from typing import Any

# The summary keys that carry run.json fields (everything else with a "/" is a metric).
RECORD_KEYS = (
    "run_dir",
    "timings",
    "choices",
    "parameters",
    "objective",
    "train_samples_per_s",
    "epochs",
    "started_at",
    "finished_at",
)


def summary_fields(record: dict[str, Any]) -> dict[str, Any]:
    """What a finished run writes into its W&B summary besides the metrics."""
    return {k: record.get(k) for k in RECORD_KEYS}
