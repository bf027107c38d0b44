"""Which numbers a case's report shows besides its eval suite: the case's `case.report` node.

`case.report.metrics` names run.json metrics (`index/recall@100`) or patterns (`index/recall@*`) that
the report shows after the headline; `case.report.costs` names the cost columns, in order: the
standard ones below, any run.json metric (`serving/stage1_p99_ms`) or a timing (`timings/index`). All
costs are lower-is-better except throughput. Runs written before the node existed have the defaults:
no extra metrics, the standard costs.

    >>> spec = report_spec([record])            # from the records' resolved configs
    >>> spec.metric_columns(record["metrics"])  # the patterns expanded against what the run logged
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

COSTS = {
    "cost/fit_s": "training time (s)",
    "cost/samples_per_s": "training throughput (samples/s)",
    "cost/p99_ms": "serving p99 latency (ms)",
    "cost/parameters": "parameters",
}
HIGHER_IS_BETTER_COSTS = ("cost/samples_per_s",)  # a cost column that is better when larger
# Metrics outside every eval suite, by their last name part: higher is better (micro AP: copy detection's;
# time_order: video search's reversal probe)
HIGHER_IS_BETTER_EXTRAS = ("micro_ap", "time_order")
# Costs shown only where a case or preset names them (case.report.costs).
OPTIONAL_COSTS = {"cost/train_rows": "training rows per epoch (after negative downsampling)"}


@dataclass
class ReportSpec:
    """A case's extra metric patterns and its cost columns (empty: the standard costs)."""

    metrics: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)

    def metric_columns(self, names: Iterable[str]) -> list[str]:
        """The metric patterns expanded against metric names, in pattern order, each name once."""
        return _expand(self.metrics, sorted(names, key=_natural_name))

    def cost_columns(self, available: Iterable[str]) -> list[str]:
        """The case's cost columns among those measured (patterns expanded); the standard ones by default."""
        names = sorted(available, key=_natural_name)
        return _expand(self.costs, names) if self.costs else [c for c in COSTS if c in names]


def _expand(patterns: Sequence[str], names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        out += [n for n in names if fnmatch.fnmatchcase(n, pattern) and n not in out]
    return out


def _natural_name(name: str) -> tuple[str, int]:
    """recall@20 before recall@100."""
    stem, _, k = name.rpartition("@")
    return (stem, int(k)) if stem and k.isdigit() else (name, 0)


def report_spec(records: Iterable[dict[str, Any]]) -> ReportSpec:
    """The union of the records' `case.report` nodes, in first-seen order (old records have none)."""
    spec = ReportSpec()
    for r in records:
        node = ((r.get("config") or {}).get("case") or {}).get("report") or {}
        spec.metrics += [str(m) for m in node.get("metrics") or [] if str(m) not in spec.metrics]
        spec.costs += [str(c) for c in node.get("costs") or [] if str(c) not in spec.costs]
    return spec


def fit_seconds(record: dict[str, Any]) -> float | None:
    fits = [v for k, v in (record.get("timings") or {}).items() if k.startswith("fit") and v is not None]
    return float(sum(fits)) if fits else None


def p99_ms(record: dict[str, Any]) -> float | None:
    value = (record.get("metrics") or {}).get("serving/p99_ms", (record.get("serving") or {}).get("p99_ms"))
    return None if value is None else float(value)


def train_rows(record: dict[str, Any]) -> int | None:
    """Rows a training epoch iterates over: those kept by negative downsampling, else the train split."""
    data = record.get("data") or {}
    kept = (data.get("downsampling") or {}).get("rows_kept")
    return kept if kept is not None else (data.get("rows") or {}).get("train")


def cost_values(record: dict[str, Any]) -> dict[str, float | None]:
    """Every cost a run can be shown with: the standard columns, its timings and its metrics."""
    values: dict[str, Any] = {
        "cost/fit_s": fit_seconds(record),
        "cost/samples_per_s": record.get("train_samples_per_s"),
        "cost/p99_ms": p99_ms(record),
        "cost/parameters": record.get("parameters"),
        "cost/train_rows": train_rows(record),
    }
    values.update({f"timings/{k}": v for k, v in (record.get("timings") or {}).items()})
    values.update(record.get("metrics") or {})
    return {k: None if v is None else float(v) for k, v in values.items() if isinstance(v, int | float | None)}


def cost_label(column: str) -> str:
    """What an axis or a note calls a cost column."""
    if column in COSTS or column in OPTIONAL_COSTS:
        return {**COSTS, **OPTIONAL_COSTS}[column]
    unit = " (ms)" if column.endswith("_ms") else " (s)" if column.startswith("timings/") else ""
    return column + unit


def lower_is_better_cost(column: str) -> bool:
    return column not in HIGHER_IS_BETTER_COSTS


def eval_suites(config: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every eval suite in a resolved config (`eval`, `retrieval.eval`, ...): nodes with metric targets."""
    metrics = config.get("metrics")
    if isinstance(metrics, dict) and any(isinstance(m, dict) and "_target_" in m for m in metrics.values()):
        yield config
    for value in config.values():
        if isinstance(value, dict):
            yield from eval_suites(value)


def extra_metric_target(name: str, config: dict[str, Any]) -> str | None:
    """The metric class of a run.json metric outside the eval suite (index/recall@100 -> RecallAtK): the
    suite metric of the same name, else of the same family (recall@*); None when no suite has it."""
    leaf = name.rsplit("/", 1)[-1]
    family = leaf.split("@", 1)[0]
    for exact in (True, False):
        for suite in eval_suites(config):
            for key, node in suite["metrics"].items():
                same = key == leaf if exact else str(key).split("@", 1)[0] == family
                if same and isinstance(node, dict) and "_target_" in node:
                    return str(node["_target_"])
    return None
