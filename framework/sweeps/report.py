"""The end of a sweep: a table of the best trials, summary.json, and the plots, in the study directory."""

from __future__ import annotations

import collections
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.table import Table

from framework.tracking.records import atomic_file, write_json_atomic


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials, best first."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    best_high = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(done, key=lambda t: (-t.value if best_high else t.value, t.number))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def _seconds(trial: FrozenTrial) -> float | None:
    if trial.datetime_start and trial.datetime_complete:
        return (trial.datetime_complete - trial.datetime_start).total_seconds()
    return None


def trial_summary(trial: FrozenTrial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": trial.value,
        "params": dict(trial.params),
        "steps": len(trial.intermediate_values),
        "seconds": _seconds(trial),
        "run_dir": trial.user_attrs.get("run_dir"),
        "worker": trial.user_attrs.get("worker"),
        **({"error": trial.user_attrs["error"]} if "error" in trial.user_attrs else {}),
    }


def short_name(name: str, names: list[str]) -> str:
    """The shortest dotted suffix of `name` that no other parameter shares (lr, embedding_dim)."""
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        suffix = ".".join(parts[i:])
        if not any(other != name and (other == suffix or other.endswith("." + suffix)) for other in names):
            return suffix
    return name


def print_table(console: Console, study: optuna.Study, metric: str, top_k: int) -> None:
    trials = study.get_trials(deepcopy=False)
    counts = collections.Counter(t.state.name.lower() for t in trials)
    best = ranked(study)[:top_k]
    names = sorted({name for t in best for name in t.params})
    direction = study.direction.name.lower()
    table = Table(
        title=f"Study {study.study_name}: best {len(best)} of {len(trials)} trials by {metric} ({direction})",
        caption=" · ".join(f"{n} {state}" for state, n in sorted(counts.items())),
    )
    table.add_column("trial", justify="right")
    table.add_column(metric, justify="right", style="bold", overflow="fold")
    for name in names:
        table.add_column(short_name(name, names), justify="right", overflow="fold")
    table.add_column("epochs", justify="right")
    table.add_column("time", justify="right")
    for trial in best:
        seconds = _seconds(trial)
        table.add_row(
            str(trial.number),
            _fmt(trial.value),
            *(_fmt(trial.params.get(n, "—")) for n in names),
            str(len(trial.intermediate_values) or "—"),
            f"{seconds:.1f}s" if seconds is not None else "—",
        )
    console.print(table)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if failed:
        errors = Table(title="Failed trials", show_header=True)
        errors.add_column("trial", justify="right")
        errors.add_column("error", overflow="fold")
        for trial in failed[-top_k:]:
            errors.add_row(str(trial.number), str(trial.user_attrs.get("error", "no error recorded")))
        console.print(errors)


def save_plots(study: optuna.Study, out_dir: Path, metric: str) -> dict[str, str]:
    """PNG files of the optimisation history, parameter importances and parallel coordinates.
    A plot that cannot be drawn yet (too few complete trials) is listed with the reason instead."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    plots = {
        "optimization_history": vis.plot_optimization_history,
        "param_importances": vis.plot_param_importances,
        "parallel_coordinate": vis.plot_parallel_coordinate,
    }
    done: dict[str, str] = {}
    complete = len(ranked(study))
    for name, plot in plots.items():
        path = out_dir / f"{name}.png"
        needed = 2 if name != "optimization_history" else 1
        if complete < needed:
            done[name] = f"skipped: needs {needed} complete trials, the study has {complete}"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
                axes = plot(study, target_name=metric)
            figure = getattr(axes, "figure", None) or axes.flat[0].figure
            figure.set_size_inches(max(figure.get_size_inches()[0], 9), max(figure.get_size_inches()[1], 5))
            _label_sweep_plot(figure, name, study.study_name, complete)
            with atomic_file(path, "wb") as f:
                figure.savefig(f, format="png", dpi=110)
            done[name] = str(path)
        except Exception as exc:  # e.g. importances of a space whose parameters never varied
            done[name] = f"skipped: {type(exc).__name__}: {exc}"
        finally:
            plt.close("all")
    return done


FEW_TRIALS = 10  # parameter importances from fewer complete trials are mostly noise


def _label_sweep_plot(figure: Any, name: str, study_name: str, complete: int) -> None:
    """The study's name in the title, whole trial numbers on a trial axis, a caveat on thin importances."""
    from matplotlib.ticker import MaxNLocator

    axes = figure.axes
    title = name.replace("_", " ")
    for loc in ("left", "center") if axes else ():  # Optuna titles some plots on the left
        if axes[0].get_title(loc):
            title = axes[0].get_title(loc)
            axes[0].set_title("", loc=loc)
    figure.suptitle(f"Study {study_name}: {title} ({complete} complete trials)")
    if name == "optimization_history":
        axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    caveat = name == "param_importances" and complete < FEW_TRIALS
    if caveat:
        note = f"Only {complete} complete trials: importances this early are mostly noise."
        figure.text(0.5, 0.01, note, ha="center", fontsize=9, color="#9b1c1c")
    figure.tight_layout(rect=(0, 0.05 if caveat else 0, 1, 1))


def write_summary(
    study: optuna.Study, path: Path, metric: str, n_trials: int, storage: str, extra: dict[str, Any]
) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    best = ranked(study)
    summary = {
        "study": study.study_name,
        "storage": storage,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "n_trials": n_trials,
        "counts": dict(collections.Counter(t.state.name.lower() for t in trials)),
        "best": trial_summary(best[0]) if best else None,
        "top": [trial_summary(t) for t in best[:10]],
        "failed": [trial_summary(t) for t in trials if t.state == TrialState.FAIL],
        "pruned": [t.number for t in trials if t.state == TrialState.PRUNED],
        "trials": [trial_summary(t) for t in trials],
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    write_json_atomic(path, summary)
    return summary
