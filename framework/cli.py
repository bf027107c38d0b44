"""Command-line entry point: Hydra composes the config, we validate it, the pipeline runs it.

Errors the user can fix (unknown config option or key, wrong type, bad data file) are printed as one
short message and exit with code 2. Hydra is told to re-raise (HYDRA_FULL_ERROR) so that its own
composition errors reach us and get the same treatment instead of Hydra's exit code 1.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from framework.config_dir import CONF_DIR
from framework.errors import ConfigError, UserError, choices_text, did_you_mean


def _print_error(title: str, message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]{title}:[/] {escape(message)}")


@hydra.main(config_path=str(CONF_DIR), config_name="run", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from framework.validation import validate

    try:
        if cfg.get("sweep") is not None and HydraConfig.get().mode == RunMode.RUN:
            raise ConfigError(  # a single run would ignore the sweep config: a key that does nothing
                "A sweep config is selected, but this is a single run: add -m to run the study "
                "(python run.py -m ... sweep=<name>), or drop sweep=..."
            )
        validate(cfg)
        from framework.pipeline import run  # heavy imports start here, once the config is known to be sane
        from framework.sweeps.context import active

        trial = active()  # set while the mlsd sweeper runs this job as a trial of its study
        if trial is None:
            return run(cfg)
        return run(cfg, callbacks=trial.callbacks(cfg), record_extra=trial.record())
    except UserError as exc:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # the sweeper records the failed job and goes on
        _remove_unused_run_dir(Path(HydraConfig.get().runtime.output_dir))
        _print_error(exc.title, str(exc))
        sys.exit(exc.exit_code)


def _remove_unused_run_dir(run_dir: Path) -> None:
    """A run stopped by a config error before it wrote anything leaves no directory behind: Hydra made
    it (its .hydra/ copy of the config and an empty cli.log) just before calling us. A directory with
    anything else in it (a run.json, checkpoints: an earlier run) is kept as it is."""
    if not run_dir.is_dir() or {p.name for p in run_dir.iterdir()} - {".hydra", "cli.log"}:
        return
    import logging
    import shutil

    logging.shutdown()  # closes cli.log
    shutil.rmtree(run_dir, ignore_errors=True)


def _override_key_error(message: str, argv: list[str]) -> ConfigError | None:
    """Rewrite Hydra's 'Could not override' into 'unknown key, allowed keys are ...'."""
    match = re.search(r"Could not override '([^']+)'", message)
    if not match:
        return None
    key = match.group(1)
    parent, _, leaf = key.rpartition(".")
    allowed: list[str] = []
    try:  # compose without the offending override to list what the parent node does have
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from omegaconf import OmegaConf

        overrides, config_dirs = split_argv(argv)
        kept = [a for a in overrides if not a.startswith((f"{key}=", f"+{key}=", f"++{key}="))]
        if config_dirs:  # --config-dir DIR: its configs join the search path, as in the run itself
            searchpath = ",".join(f"file://{Path(d).resolve()}" for d in config_dirs)
            kept.append(f"hydra.searchpath=[{searchpath}]")
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("run", overrides=kept)
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if isinstance(node, DictConfig):
            allowed = [str(k) for k in node if k != "hydra"]
    except Exception:
        pass
    where = f" in '{parent}'" if parent else ""
    return ConfigError(
        f"Unknown key '{key}'{where}.{did_you_mean(leaf, allowed)} Allowed keys{where}: {choices_text(allowed)}."
    )


# Hydra's own flags that take a value (`--cfg job`, `--config-dir DIR`, ...): neither is an override.
_FLAGS_WITH_VALUE = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
    "--shell-completion",
    "-sc",
}
_FLAGS_WITH_OPTIONAL_VALUE = {"--info", "-i"}
_INFO_TOPICS = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the overrides, the --config-dir folders) of a command line, without Hydra's flags and their values."""
    overrides: list[str] = []
    config_dirs: list[str] = []
    i = 0
    while i < len(argv):
        name, eq, value = argv[i].partition("=")
        if name in _FLAGS_WITH_VALUE and not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
            i += 1
        if name in ("--config-dir", "-cd"):
            config_dirs.append(value)
        elif name in _FLAGS_WITH_OPTIONAL_VALUE and not eq and i + 1 < len(argv) and argv[i + 1] in _INFO_TOPICS:
            i += 1  # `--info config`: the topic word is no override
        elif not argv[i].startswith("-") and name not in _FLAGS_WITH_VALUE:
            overrides.append(argv[i])
        i += 1
    return overrides, config_dirs


def _composition_error(exc: Exception, argv: list[str]) -> ConfigError:
    from hydra.errors import MissingConfigException

    text = str(exc)
    if isinstance(exc, MissingConfigException):
        match = re.search(r"Could not find '([^']+)/([^']+)'", text)
        options = getattr(exc, "options", None) or re.findall(r"^\t(\S+)$", text, flags=re.M)
        if match:
            group, value = match.groups()
            if group == "model":  # many cases, many models: name the ones that fit the case at hand
                options = _models_of_case(argv) or options
            example = f" Example: {group}={sorted(options)[0]}" if options else ""
            return ConfigError(
                f"Unknown {group} '{value}'.{did_you_mean(value, options)} "
                f"Available {group} options: {choices_text(options)}.{example}"
            )
    rewritten = _override_key_error(text, argv)
    if rewritten is not None:
        return rewritten
    first = text.split("\nConfig search path")[0].strip()
    cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
    return ConfigError(f"{first}{cause}".replace("\n", " "))


def _models_of_case(argv: list[str]) -> list[str]:
    """The model options that fit the case on the command line (or the default case); [] if unknown."""
    from omegaconf import OmegaConf

    from framework.validation import models_for_kind

    overrides, _ = split_argv(argv)
    case = next((o.partition("=")[2] for o in overrides if o.startswith("case=")), None)
    if case is None:
        defaults = OmegaConf.load(CONF_DIR / "run.yaml").defaults
        case = next((d["case"] for d in defaults if OmegaConf.is_dict(d) and "case" in d), None)
    path = CONF_DIR / "case" / f"{case}.yaml"
    return models_for_kind(str(OmegaConf.load(path).case.task)) if case and path.exists() else []


def help_text() -> str:
    """`--help` from conf/hydra/help/mlsd.yaml, with the config groups and the models of each case listed
    from conf/ itself, as overrides one can paste (`model=dcn`; with -m, `model=lr,fm` runs both).

    Hydra's own --help deep-copies its config repository once per group and option listing (about 1 s
    here with 16 groups, past the 1.5 s a help answer may take); the text is the same.
    """
    import string

    from omegaconf import OmegaConf

    help_cfg = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "hydra" / "help" / "mlsd.yaml"))  # unresolved
    groups = sorted(
        (str(d.relative_to(CONF_DIR)), sorted(f.stem for f in d.glob("*.yaml")))
        for d in CONF_DIR.rglob("*")
        if d.is_dir() and d.relative_to(CONF_DIR).parts[0] != "hydra"
    )
    listing = "".join(f"  {group}={','.join(options)}\n" for group, options in groups if options)
    template = help_cfg["template"].replace("${hydra.help.header}", help_cfg["header"])
    template = template.replace("${hydra.help.footer}", help_cfg["footer"])
    return string.Template(template).safe_substitute(APP_CONFIG_GROUPS=listing, APP_CASES=_cases_listing())


def _cases_listing() -> str:
    """One line per case: its task kind, its default model, and the models that fit it."""
    from omegaconf import OmegaConf

    from framework.validation import models_for_kind

    lines = []
    for path in sorted((CONF_DIR / "case").glob("*.yaml")):
        case = OmegaConf.load(path)
        kind = str(case.case.task)
        default = next((str(d["override /model"]) for d in case.get("defaults", []) if "override /model" in d), "")
        models = ",".join(models_for_kind(kind))
        lines.append(f"  case={path.stem} model={default}   # {kind}; models: model={models}\n")
    return "".join(lines)


SERVING_COMMANDS = ("export", "predict", "serve")
SERVING_HELP = """Serving (each has --help):
  mlsd export run_dir=<run dir> [backend=all|torch|export|onnx]    # a serving artefact of a finished ad click run
  mlsd predict run_dir=<run dir> input=rows.parquet output=scores.csv   # batch prediction, rows/s
  mlsd serve run_dir=<run dir> [backend=onnx] [batching=true] [port=8000]  # the model over HTTP
"""


def main(argv: list[str] | None = None) -> None:
    """Run `run.py` with `argv` (default: sys.argv[1:]); exits 2 on errors the user can fix."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    args = sys.argv[1:]
    if args and args[0] in SERVING_COMMANDS:  # `mlsd export ...`, `mlsd predict ...`: no Hydra run
        from framework.deployment.commands import main as serving_main

        try:
            serving_main(args)
        except UserError as exc:
            _print_error(exc.title, str(exc))
            sys.exit(exc.exit_code)
        return
    if "--help" in args or "-h" in args:
        print(help_text())
        print(SERVING_HELP)
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    from hydra.errors import ConfigCompositionException, HydraException, OverrideParseException

    try:
        _hydra_main()
    except UserError as exc:
        _print_error(exc.title, str(exc))
        sys.exit(exc.exit_code)
    except HydraException as exc:
        if isinstance(exc.__cause__, UserError):  # raised inside instantiate() or a Hydra job: unwrap
            _print_error(exc.__cause__.title, str(exc.__cause__))
            sys.exit(exc.__cause__.exit_code)
        if not isinstance(exc, ConfigCompositionException | OverrideParseException):
            raise
        err = _composition_error(exc, args)
        _print_error(err.title, str(err))
        sys.exit(err.exit_code)
