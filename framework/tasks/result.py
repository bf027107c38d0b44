"""What a kind's recipe hands back to the pipeline: the run's metrics and objective, per-stage records,
and the kind's own run.json fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecipeResult:
    metrics: dict[str, float]  # everything run.json reports under "metrics" (val/*, test/*, serving/*, ...)
    objective: float | None  # the eval suite's monitored validation metric, what sweeps optimise
    epochs: int
    history: list[dict[str, float]]  # validation metrics of every epoch (every stage, in order)
    train_samples_per_s: float | None
    checkpoints: dict[str, str]  # best, last, and <stage>_best for kinds of several stages
    stages: dict[str, dict[str, Any]] | None = None  # per trained stage: epochs, samples/s, best checkpoint, history
    extras: dict[str, Any] = field(default_factory=dict)  # the kind's own fields: serving, data, feature_spec, ...
    reported: bool = False  # the recipe printed its metrics and latency in a report of its own

    @classmethod
    def from_outcome(cls, outcome: dict[str, Any], monitor: str, extras: dict[str, Any]) -> RecipeResult:
        """A one-stage kind's result from its fit's outcome (`framework.training.loop.fit_outcome`'s keys:
        metrics, epochs, history, samples_per_s, checkpoints), with the suite's monitored metric (`eval.monitor`)
        as the objective."""
        metrics = outcome["metrics"]
        return cls(
            metrics=metrics,
            objective=metrics.get(f"val/{monitor}"),
            epochs=outcome["epochs"],
            history=outcome["history"],
            train_samples_per_s=outcome["samples_per_s"],
            checkpoints=outcome["checkpoints"],
            extras=extras,
        )

    def record_fields(self) -> dict[str, Any]:
        """The run.json fields this result fills."""
        fields = {
            "metrics": self.metrics,
            "train_samples_per_s": self.train_samples_per_s,
            "epochs": self.epochs,
            "history": self.history,
            "checkpoints": self.checkpoints,
            **self.extras,
        }
        if self.stages is not None:
            fields["stages"] = self.stages
        return fields
