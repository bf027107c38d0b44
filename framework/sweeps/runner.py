"""One sweep worker: open (or create) the study, run trials until it has `n_trials`, report.

Each trial is a Hydra job launched in this process with the sampled overrides; its run directory is
`<study dir>/trials/<trial number>` (numbers are unique in a study, so a resumed study or a second
worker never writes into an earlier trial's directory). The job's return value (the eval suite's
monitored metric) is the trial's value. A trial that raises, returns NaN, or whose worker dies
(its heartbeat stops) is recorded as failed with the error, and the sweep goes on.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import traceback
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobStatus
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from optuna.trial import TrialState
from rich.console import Console
from rich.markup import escape

from framework.config_dir import CONF_DIR
from framework.errors import ConfigError
from framework.sweeps import context, report
from framework.sweeps.best_config import groups_after_experiment, preset_text
from framework.sweeps.guard import check_study, listing
from framework.sweeps.plan import SweepPlan, trial_overrides
from framework.sweeps.samplers import build_pruner, build_sampler
from framework.sweeps.space import override_text, stored_value
from framework.sweeps.storage import RetryingStorage, display_url, is_connection_error, open_storage
from framework.tracking.records import atomic_file, write_json_atomic

COUNTED = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
TRACEBACK_LIMIT = 4000  # characters of a failed trial's traceback kept in the study (a trial attribute)
HEADER = "Traceback (most recent call last):\n"


def _shortened(text: str, limit: int) -> str:
    """`text` cut in the middle to at most `limit` characters (both ends tell: a path's file, an error's start)."""
    if len(text) <= limit:
        return text
    half = max(limit - 5, 0) // 2
    return f"{text[:half]} ... {text[len(text) - half :]}"[:limit]


def bounded_traceback(exc: BaseException, limit: int) -> str:
    """The traceback of `exc` in at most `limit` characters: the header, the innermost frames that fit
    (where the error happened), a line counting the outer frames left out, and the exception line.

    Cutting the formatted text from the front would drop the header and, with long checkout paths,
    all but the last frames; cutting from the back would drop the error itself.
    """
    full = "".join(traceback.format_exception(exc))
    if len(full) <= limit:
        return full
    te = traceback.TracebackException.from_exception(exc)
    chained = te.__cause__ is not None or (te.__context__ is not None and not te.__suppress_context__)
    error = _shortened("".join(te.format_exception_only()), limit // 2)
    frames = [te.stack.format_frame_summary(f) for f in te.stack]  # one string each: no "repeated" folding
    note_room = 120  # the "left out" line
    budget = limit - len(HEADER) - len(error) - note_room
    kept: list[str] = []
    for frame in reversed(frames):
        if sum(map(len, kept)) + len(frame) > budget:
            break
        kept.insert(0, frame)
    if not kept and frames:  # even the innermost frame is too long: keep it shortened
        kept = [_shortened(frames[-1], budget - 1).rstrip("\n") + "\n"]
    left_out = len(frames) - len(kept)
    note = f"  [{left_out} outer frame{'s' if left_out != 1 else ''} left out to fit {limit} characters"
    note += ", and the exceptions this one was raised from]\n" if chained else "]\n"
    return HEADER + note + "".join(kept) + error


class TrialFailed(Exception):
    """A trial's job raised or returned no usable value; the message is what the study records."""


class Worker:
    def __init__(self, plan: SweepPlan, config: DictConfig, launcher: Any, compose: Any, console: Console) -> None:
        self.plan = plan
        self.cfg = config.sweep
        self.max_epochs = int(config.trainer.max_epochs)  # Hyperband's default maximum resource
        self.launcher = launcher
        self.compose = compose  # overrides -> the run config a trial with those overrides composes
        self.console = console
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.ran: list[int] = []
        self.storage: RetryingStorage | None = None

    def log(self, message: str) -> None:
        self.console.print(f"[dim]sweep {self.plan.study_name}[/] {message}", highlight=False, soft_wrap=True)

    # -- the study -------------------------------------------------------------------------------

    def open_study(self) -> optuna.Study:
        cfg = self.cfg
        try:
            self.storage = open_storage(
                self.plan.storage_url,
                int(cfg.heartbeat_interval),
                cfg.grace_period,
                int(cfg.db_retries),
                float(cfg.db_backoff_s),
                log=lambda m: self.log(f"[yellow]{m}[/]"),
            )
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            cause = str(exc.__cause__ or exc).strip().splitlines()[0][:300]
            raise ConfigError(
                f"Cannot reach the sweep's database {display_url(self.plan.storage_url)} ({cause}). "
                f"Check sweep.storage (host, port, user, database), or leave it null for SQLite under sweep.dir."
            ) from None
        study = optuna.create_study(
            study_name=self.plan.study_name,
            storage=self.storage,
            load_if_exists=True,
            sampler=build_sampler(cfg.sampler, self.plan.params),
            direction=self.plan.direction,
            pruner=build_pruner(cfg.pruner, int(self.max_epochs)),
        )
        if study.direction.name.lower() != self.plan.direction:
            raise ConfigError(
                f"Study '{self.plan.study_name}' in {display_url(self.plan.storage_url)} was created to "
                f"{study.direction.name.lower()}, but {self.plan.metric} is to {self.plan.direction} "
                f"(eval.mode): pick another sweep.study_name."
            )
        recorded = study.user_attrs.get("metric")
        if recorded is None:
            study.set_user_attr("metric", self.plan.metric)
        elif recorded != self.plan.metric:
            raise ConfigError(
                f"Study '{self.plan.study_name}' optimises {recorded}, but this sweep's eval suite monitors "
                f"{self.plan.metric}: pick another sweep.study_name."
            )
        changes = check_study(
            study, display_url(self.plan.storage_url), self.plan.fixed_config, self.plan.space, bool(cfg.allow_changes)
        )
        if changes:
            note = "runs in a study created with another fixed config or search space (sweep.allow_changes=true)"
            self.log(f"[yellow]{note}[/]:\n{escape(listing(changes))}")
        for params in OmegaConf.to_container(cfg.enqueue, resolve=True) or []:
            study.enqueue_trial({k: stored_value(v) for k, v in params.items()}, skip_if_exists=True)
        return study

    def counted(self, study: optuna.Study) -> int:
        return len(study.get_trials(deepcopy=False, states=COUNTED))

    def fail_stale_trials(self, study: optuna.Study) -> None:
        """Running trials whose worker stopped sending heartbeats: killed, or cut off from the database."""
        assert self.storage is not None
        study_id = self.storage.get_study_id_from_name(study.study_name)
        grace = self.cfg.grace_period or 2 * int(self.cfg.heartbeat_interval)
        for trial_id in self.storage._get_stale_trial_ids(study_id):
            trial = self.storage.get_trial(trial_id)
            error = (
                f"no heartbeat for over {grace}s from worker {trial.user_attrs.get('worker', '?')}: "
                f"the process was killed or lost the database"
            )
            try:
                self.storage.set_trial_user_attr(trial_id, "error", error)
                if not self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker got there first
            self.log(f"trial {trial.number} [red]failed[/]: {error}")
            run_dir = trial.user_attrs.get("run_dir")
            if run_dir and (Path(run_dir) / "run.json").exists():  # same machine or shared disk
                record = json.loads((Path(run_dir) / "run.json").read_text())
                if record.get("status") == "running":
                    record.update(status="failed", error=error)
                    write_json_atomic(Path(run_dir) / "run.json", record)

    # -- a trial ---------------------------------------------------------------------------------

    def trial_dir(self, number: int) -> str:
        name = f"trials/{number:04d}"
        if (self.plan.study_dir / name).exists():  # left by an earlier study of the same name: keep it
            name += datetime.now().strftime("-%Y%m%d-%H%M%S-%f")
        return name

    def objective(self, trial: optuna.Trial) -> float:
        plan = self.plan
        values = {}
        try:
            from framework.sweeps.space import suggest

            self.ran.append(trial.number)
            values = suggest(trial, plan.params, plan.context)
            subdir = self.trial_dir(trial.number)
            overrides = trial_overrides(plan, values)
            trial.set_user_attr("worker", self.name)
            trial.set_user_attr("run_dir", str((plan.study_dir / subdir).resolve()))
            trial.set_user_attr("overrides", overrides)
            extra = [
                f"logger.group={override_text(plan.study_name)}",
                f"tags={override_text([*plan.tags, f'study:{plan.study_name}', f'trial:{trial.number}'])}",
                f"hydra.sweep.dir={override_text(str(plan.study_dir))}",
                f"hydra.sweep.subdir={override_text(subdir)}",
            ]
            shown = " ".join(f"{k}={override_text(v)}" for k, v in values.items())
            self.log(f"trial {trial.number} [bold]started[/]: {shown}")
            prune = str(self.cfg.pruner.name) != "none"
            with context.activate(context.TrialContext(trial, plan.study_name, values, prune=prune)):
                (job,) = self.launcher.launch([[*overrides, *extra]], initial_job_idx=trial.number)
            if job.status != JobStatus.COMPLETED:
                raise job._return_value  # the job's exception (JobReturn.return_value would also print it)
            value = job._return_value
            if value is None or not math.isfinite(float(value)):
                raise TrialFailed(
                    f"{plan.metric} is {value}: no validation ran, or the loss diverged (see the trial's run.json)"
                )
        except optuna.TrialPruned as exc:
            self.log(f"trial {trial.number} [yellow]pruned[/]: {exc}")
            raise
        except BaseException as exc:
            message = str(exc) if isinstance(exc, TrialFailed) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, KeyboardInterrupt | SystemExit):  # Lightning turns Ctrl-C into SystemExit(1)
                message = f"interrupted ({message}): the worker was stopped during this trial"
            message = message.strip().replace("\n", " ")[:2000]
            trial.set_user_attr("error", message)
            if not isinstance(exc, TrialFailed):
                trial.set_user_attr("traceback", bounded_traceback(exc, TRACEBACK_LIMIT))
            self.log(f"trial {trial.number} [red]failed[/]: {message}")
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise KeyboardInterrupt(message) from exc  # Optuna records FAIL, then the worker stops
            raise TrialFailed(message) from None
        best = self._best_text(trial.number, float(value))
        self.log(f"trial {trial.number} [green]complete[/]: {plan.metric}={float(value):.5g}{best}")
        return float(value)

    def _best_text(self, number: int, value: float) -> str:
        done = report.ranked(self.study)
        if not done:
            return " (first complete trial)"
        best = done[0]
        better = value < best.value if self.plan.direction == "minimize" else value > best.value
        return " (best so far)" if better else f" (best: {best.value:.5g}, trial {best.number})"

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        plan = self.plan
        self.study = study = self.open_study()
        sampler = study.sampler
        before = self.counted(study)
        self.log(
            f"{before} of {plan.n_trials} trials done; storage {display_url(plan.storage_url)}; worker {self.name}; "
            f"{plan.metric} ({plan.direction}); trials in {plan.study_dir / 'trials'}"
        )
        for note in plan.notes:
            self.log(note)
        while True:
            self.fail_stale_trials(study)
            if self.counted(study) >= plan.n_trials:
                break
            if sampler.is_exhausted(study):
                self.log("every point of the grid has a trial")
                break
            try:
                study.optimize(self.objective, n_trials=1, catch=(TrialFailed,))
            except optuna.exceptions.UpdateFinishedTrialError as exc:
                # Our trial was declared dead (no heartbeat past the grace period) while cut off from the database.
                self.log(f"[red]a trial's result could not be recorded[/]: {exc}")
        if self.counted(study) == before:
            self.log(f"the study already has {self.counted(study)} trials (n_trials={plan.n_trials}): nothing to run")
        return self.finish(study)

    def finish(self, study: optuna.Study) -> dict[str, Any]:
        plan, cfg = self.plan, self.cfg
        report.print_table(self.console, study, plan.metric, int(cfg.top_k))
        extra: dict[str, Any] = {
            "study_dir": str(plan.study_dir.resolve()),
            "worker": {"name": self.name, "ran": self.ran},
        }
        best = report.ranked(study)
        if best:
            extra.update(self.write_best(best[0]))
        if cfg.plots:
            extra["plots"] = report.save_plots(study, plan.study_dir / "plots", plan.metric)
        if self.storage is not None and self.storage.retried_calls:
            extra["database_retries"] = self.storage.retried_calls
        summary = report.write_summary(
            study, plan.study_dir / "summary.json", plan.metric, plan.n_trials, display_url(plan.storage_url), extra
        )
        for name, where in (extra.get("plots") or {}).items():
            self.log(f"plot {name}: {where}")
        if best:
            self.log(f"best config: {extra['best_config']}")
            self.log(f"run it: {extra['best_command']}")
        self.log(f"summary: {plan.study_dir / 'summary.json'}")
        return summary

    def write_best(self, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        plan = self.plan
        name = f"best_{plan.study_name}"
        path = plan.study_dir / "experiment" / f"{name}.yaml"
        command = f"python run.py --config-dir {plan.study_dir.resolve()} experiment={name}"
        header = [
            f"Best trial {trial.number} of study {plan.study_name}: {plan.metric}={trial.value:.6g} ({plan.direction})",
            f"Parameters: {trial.params}",
            f"Trial run: {trial.user_attrs.get('run_dir')}",
            f"Run it: {command}",
        ]
        overrides = list(trial.user_attrs.get("overrides") or [])
        late = groups_after_experiment(CONF_DIR / "run.yaml")
        text, _ = preset_text(self.compose(overrides), self.compose, header, {p.name for p in plan.params}, late)
        with atomic_file(path) as f:
            f.write(text)
        return {"best_config": str(path), "best_command": command, "best_overrides": overrides}


def run_sweep(plan: SweepPlan, config: DictConfig, launcher: Any, compose: Any) -> dict[str, Any]:
    console = Console(highlight=False)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the worker reports each trial itself
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    worker = Worker(plan, config, launcher, compose, console)
    plan.study_dir.mkdir(parents=True, exist_ok=True)
    try:
        return worker.run()
    except KeyboardInterrupt:
        console.print("[red]sweep interrupted[/]: the running trial is recorded as failed", highlight=False)
        sys.exit(130)


def set_sweep_dir(config: DictConfig, study_dir: Path) -> None:
    """The launcher creates hydra.sweep.dir: make it the study directory, not a new timestamped one."""
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(study_dir)
