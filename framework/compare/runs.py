"""Runs to compare: every run.json under some folders, as one polars table of runs and the choices they vary.

(Not a model registry: a reader of finished runs' records, for `framework.compare`.)

A *choice* is what a comparison varies. We find it from the runs themselves: flatten each run's
resolved config, keep the Hydra group choices (model=dcn) and config keys (model.embedding_dim) whose
values differ between runs of a case, and drop what only follows from another varied key (choosing
model=lr also changes model.* and the case_model's optimizer settings: one axis, not three). Seeds are
the replicate axis; paths, tracking and progress-bar settings never make a choice.

    >>> records = load_records([Path("outputs/multirun/ad_click/ad_click_models/2026-11-29_10-00-00")])
    >>> frame = runs_frame(records)   # one row per finished run: case, choice, seed, metrics, costs
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from framework.compare.columns import COSTS, HIGHER_IS_BETTER_EXTRAS, cost_values, extra_metric_target, report_spec
from framework.config_dir import CONF_DIR
from framework.errors import UserError
from framework.tasks import kind_node_names

# Never design choices: where files go, how a run is tracked or displayed, and the replicate axis.
# case.report only chooses what a report shows.
IGNORED_KEYS = ("seed", "resume", "tags", "paths", "logger", "hydra", "trainer.enable_progress_bar", "case.report")
IGNORED_GROUPS = ("hydra/", "paths", "logger", "experiment")


def _kind_groups() -> tuple[str, ...]:
    """The task kinds' own nodes that are config groups (conf/index/, conf/ranker/), in the kinds' order."""
    return tuple(node for node in kind_node_names() if (CONF_DIR / node).is_dir())


# Group choices are tried as axes before config keys, in this order; the rest alphabetically.
GROUP_ORDER = ("case", "model", "dataset", "dataset/features", "eval", "hardware", *_kind_groups(), "case_model")
ABSENT = "—"  # a key a run's config does not have (model.low_rank of a model without it)


class CompareError(UserError):
    title = "compare error"


@dataclass
class Axes:
    """The varied keys of one case: `keys` in display order, with the short names used in labels."""

    keys: list[str] = field(default_factory=list)  # "choice:model" for a group choice, else a dotted config key
    short: dict[str, str] = field(default_factory=dict)


def find_run_files(paths: Sequence[str | Path]) -> list[Path]:
    """run.json files at or below each path (a run directory, a sweep directory, or any folder)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise CompareError(f"{path} does not exist.")
        if path.is_file():
            if path.name != "run.json":
                raise CompareError(f"{path} is not a run.json file; pass a run or sweep directory.")
            found.append(path)
        else:
            found.extend(sorted(path.rglob("run.json")))
    if not found:
        shown = ", ".join(str(p) for p in paths)
        raise CompareError(
            f"no run.json found under {shown}. Pass the directory of a run or of a multirun, e.g. "
            f"python scripts/compare.py outputs/multirun/ad_click/ad_click_models/<timestamp>"
        )
    return sorted(set(found), key=_natural)


def load_records(paths: Sequence[str | Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Finished runs' records, and notes about what was skipped (unfinished, unreadable, duplicate)."""
    records, notes = [], []
    for file in find_run_files(paths):
        try:
            record = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            notes.append(f"skipped {file}: not readable JSON ({exc})")
            continue
        if not isinstance(record, dict) or "config" not in record:
            notes.append(f"skipped {file}: not a run record")
            continue
        if record.get("status") != "finished":
            notes.append(f"skipped {file.parent}: status {record.get('status')!r}")
            continue
        record.setdefault("run_dir", str(file.parent))
        records.append(record)
    if not records:
        raise CompareError("no finished run among the run.json files found: " + "; ".join(notes))
    return records, notes


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys -> canonical JSON of the leaf (lists are leaves): comparable and hashable."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value, sort_keys=True)
    return flat


def _ignored(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in IGNORED_KEYS)


def _run_values(record: dict[str, Any]) -> dict[str, str]:
    """Everything a run could vary: its group choices ("choice:<group>") and flattened config keys."""
    values = {
        f"choice:{g}": str(v)
        for g, v in (record.get("choices") or {}).items()
        if v is not None and not any(g == i or g.startswith(i) for i in IGNORED_GROUPS)
    }
    values.update({k: v for k, v in flatten(record["config"]).items() if not _ignored(k)})
    return values


def _determined(values: list[dict[str, str]], by: list[str], key: str) -> bool:
    """Is `key` a function of the keys `by` over these runs?"""
    seen: dict[tuple[str, ...], str] = {}
    for v in values:
        group = tuple(v.get(k, ABSENT) for k in by)
        if seen.setdefault(group, v.get(key, ABSENT)) != v.get(key, ABSENT):
            return False
    return True


def varied_axes(records: Sequence[dict[str, Any]]) -> Axes:
    """The varied keys that tell the choices apart: the group choices no other group choice fixes, then
    every config key that the group choices do not fix."""
    values = [_run_values(r) for r in records]
    keys = sorted({k for v in values for k in v})
    # A key that is the run's seed in every run (dataset.seed: ${seed}, a new data draw per seed) is the
    # replicate axis too, not a choice.
    seeds = [str(r.get("seed", r["config"].get("seed"))) for r in records]
    follows_seed = {k for k in keys if all(v.get(k) == seed for v, seed in zip(values, seeds, strict=True))}
    varied = [k for k in keys if k not in follows_seed and len({v.get(k, ABSENT) for v in values}) > 1]
    groups = [k for k in varied if k.startswith("choice:")]
    rank = {f"choice:{g}": i for i, g in enumerate(GROUP_ORDER)}
    groups.sort(key=lambda k: (rank.get(k, len(rank)), k))
    chosen: list[str] = []
    for key in groups:
        if not _determined(values, chosen, key):
            chosen.append(key)
    # A config key is an axis unless the group choices fix it (model=lr sets model.*): keys changed
    # together by hand all label the run, not just the first of them.
    by_groups = list(chosen)
    chosen += [k for k in varied if not k.startswith("choice:") and not _determined(values, by_groups, k)]
    return Axes(chosen, _short_names(chosen))


def _short_names(keys: list[str]) -> dict[str, str]:
    """model.embedding_dim -> embedding_dim, unless two axes end alike; choice:model -> model."""
    names = {k: k.removeprefix("choice:") for k in keys}
    short = {}
    for key, name in names.items():
        parts = name.split(".")
        for n in range(1, len(parts) + 1):
            candidate = ".".join(parts[-n:])
            if sum(1 for other in names.values() if other == candidate or other.endswith("." + candidate)) == 1:
                break
        short[key] = candidate
    return short


def _display(key: str, value: str) -> str:
    """A value as a label shows it: group choices as they are, config values from their JSON."""
    if value == ABSENT or key.startswith("choice:"):
        return value
    decoded = json.loads(value)
    if decoded is None:
        return "null"
    if isinstance(decoded, str):
        return decoded
    return json.dumps(decoded, separators=(",", ":")) if isinstance(decoded, list | dict) else str(decoded)


def choice_label(record: dict[str, Any], axes: Axes) -> str:
    """ "model=dcn", "embedding_dim=32", "model=dcn, embedding_dim=32"; "all runs" when nothing varies."""
    if not axes.keys:
        return "all runs"
    values = _run_values(record)
    return ", ".join(f"{axes.short[k]}={_display(k, values.get(k, ABSENT))}" for k in axes.keys)


def _natural(path: Path | str) -> list[Any]:
    """Sort key that puts job 2 before job 10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def eval_metric_names(record: dict[str, Any]) -> list[str]:
    """test/<name> for each metric of the run's eval suite, its monitored metric first."""
    eval_cfg = record["config"].get("eval") or {}
    names = [str(n) for n in (eval_cfg.get("metrics") or {})]
    monitor = str(record.get("objective", {}).get("metric", "")).split("/", 1)[-1] or eval_cfg.get("monitor")
    names.sort(key=lambda n: n != monitor)
    return [f"test/{n}" for n in names]


def report_metric_names(record: dict[str, Any]) -> list[str]:
    """The metrics a report shows for a run: its eval suite's (monitored first), then its case's
    `case.report.metrics` expanded against what the run logged."""
    names = eval_metric_names(record)
    extra = report_spec([record]).metric_columns(record.get("metrics") or {})
    return [*names, *(n for n in extra if n not in names)]


def runs_frame(records: Sequence[dict[str, Any]]) -> tuple[pl.DataFrame, dict[str, Axes]]:
    """One row per run: case, choice, seed, order (run order), run_dir, the metrics and costs its report shows.

    A choice that ran the same seed twice keeps its latest run. Returns the varied axes per case too.
    """
    by_case: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_case.setdefault(case_name(r), []).append(r)
    rows, axes_of = [], {}
    for case, runs in by_case.items():
        axes = axes_of[case] = varied_axes(runs)
        spec = report_spec(runs)
        runs = sorted(runs, key=lambda r: (str(r.get("started_at", "")), _natural(r.get("run_dir", ""))))
        for order, r in enumerate(runs):
            row: dict[str, Any] = {
                "case": case,
                "choice": choice_label(r, axes),
                "seed": int(r.get("seed", r["config"].get("seed", 0))),
                "order": order,
                "run_dir": str(r.get("run_dir", "")),
                "finished_at": str(r.get("finished_at", "")),
            }
            costs = cost_values(r)
            row.update({c: costs.get(c) for c in dict.fromkeys([*COSTS, *spec.cost_columns(costs)])})
            for name in report_metric_names(r):
                value = (r.get("metrics") or {}).get(name)
                row[name] = None if value is None else float(value)
            rows.append(row)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    meta = ("case", "choice", "seed", "order", "run_dir", "finished_at")
    frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in frame.columns if c not in meta)
    frame = frame.sort("finished_at").unique(["case", "choice", "seed"], keep="last", maintain_order=True)
    return frame.sort(["case", "order"]), axes_of


def case_name(record: dict[str, Any]) -> str:
    return str(record.get("case") or record["config"].get("case", {}).get("name"))


def duplicates_note(records: Sequence[dict[str, Any]], frame: pl.DataFrame) -> list[str]:
    dropped = len(records) - frame.height
    return [f"{dropped} run(s) repeated a choice and seed already seen; the latest of each was kept"] if dropped else []


@cache
def higher_is_better(target: str) -> bool | None:
    """A metric class's `higher_is_better` (torchmetrics' convention): read from source for our own
    classes, imported otherwise; None when neither direction is better (calibration: 1 is best)."""
    from framework.signatures import read_signature

    sig = read_signature(target)
    if sig is not None and "higher_is_better" in sig.attributes:
        value = sig.attributes["higher_is_better"]
        return None if value is None else bool(value)
    module, _, name = target.rpartition(".")
    try:
        import importlib

        value = getattr(importlib.import_module(module), name).higher_is_better
    except (ImportError, AttributeError):
        return None
    return value if isinstance(value, bool) else None  # None, or a property of the instance: unknown


def metric_directions(records: Iterable[dict[str, Any]]) -> dict[str, bool | None]:
    """metric -> higher is better? From the eval suites' targets (a case.report metric from the suite metric
    of its name: index/recall@100 is a recall); the run's objective mode wins."""
    directions: dict[str, bool | None] = {}
    for r in records:
        for name, node in ((r["config"].get("eval") or {}).get("metrics") or {}).items():
            if f"test/{name}" not in directions and isinstance(node, dict) and "_target_" in node:
                directions[f"test/{name}"] = _suite_direction(node)
        for name in report_metric_names(r):
            if name not in directions and (not name.startswith("test/") or name.count("/") > 1):
                directions[name] = _extra_direction(name, r["config"])  # test/fused/ndcg@10: the suite's ndcg@10
        objective = r.get("objective") or {}
        if objective.get("metric") and objective.get("mode") in ("min", "max"):
            directions["test/" + str(objective["metric"]).split("/", 1)[-1]] = objective["mode"] == "max"
    return directions


def _suite_direction(node: dict[str, Any]) -> bool | None:
    """A suite metric's direction; a wrapper of another metric (framework.metrics.feed.OnTask: one task's
    head) has the direction of the metric it wraps."""
    inner = node.get("metric")
    if isinstance(inner, dict) and "_target_" in inner:
        return _suite_direction(inner)
    return higher_is_better(str(node["_target_"]))


def _extra_direction(name: str, config: dict[str, Any]) -> bool | None:
    if name.endswith(("_ms", "_s")):  # latencies and durations
        return False
    if name.rsplit("/", 1)[-1] in HIGHER_IS_BETTER_EXTRAS:
        return True
    target = extra_metric_target(name, config)
    return None if target is None else higher_is_better(target)
