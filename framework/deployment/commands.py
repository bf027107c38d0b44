"""`mlsd export ...` and `mlsd predict ...`: key=value arguments like the rest of mlsd; errors the user can
fix (no checkpoint, unknown backend, a missing column, a NaN) raise a UserError: `framework.cli.main`, which
dispatches here, prints it as one message and exits with code 2. `python run.py export ...` works the same."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from framework.errors import ConfigError, choices_text, did_you_mean

EXPORT_HELP = """\
mlsd export run_dir=DIR [backend=all|torch,export,onnx] [out=DIR]

Turn a finished run into a self-contained serving artefact (default DIR/serving): the model for each
backend (torch: eager state_dict, export: torch.export program, onnx: ONNX Runtime) and what a request needs.
Ad click (ctr) runs: the encoder (vocabularies, hash buckets, numeric statistics), the FeatureSpec and the
recalibration shift. Video recommendation (two_stage) runs: user and item vectors, the index config, the
items each user has seen, the ranker's feature tables; the ranker is the model
(framework.deployment.two_stage.Recommender serves it).

  mlsd export run_dir=outputs/2026-12-04/09-00-00
  mlsd export run_dir=outputs/2026-12-04/09-00-00 backend=onnx out=/tmp/ctr-artefact
"""

PREDICT_HELP = """\
mlsd predict (run_dir=DIR | artifact=DIR) input=FILE output=FILE [backend=onnx] [keep=[col,...]]
             [chunk_rows=100000] [threads=N]

Score every row of a .csv / .tsv / .parquet file (with a header naming the model's raw columns, e.g. C1..C26,
I1..I13) offline, in chunks; write the kept columns and `score` (the calibrated click probability) to
FILE (.csv / .tsv / .parquet) atomically and print rows/s. run_dir=DIR reads DIR/serving (exported first
if it is not there yet). Unknown ids score as the out-of-vocabulary id, missing numbers as training's
missing value; a missing column, a value of the wrong type or a NaN stops with a message naming it.

  mlsd predict run_dir=outputs/2026-12-04/09-00-00 input=impressions.parquet output=scores.csv keep=[request_id]
"""

_ARGS = {
    "export": {"run_dir", "backend", "out"},
    "predict": {"run_dir", "artifact", "input", "output", "backend", "keep", "chunk_rows", "threads"},
    "serve": {"run_dir", "artifact", "backend", "batching", "max_wait_ms", "max_batch_rows", "max_candidates"}
    | {"threads", "host", "port"},
}


def parse(command: str, argv: list[str]) -> dict[str, str]:
    """key=value arguments of `command`; an unknown or malformed one is a ConfigError."""
    args: dict[str, str] = {}
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq or not key:
            raise ConfigError(f"mlsd {command}: expected key=value, got '{arg}'. See: mlsd {command} --help")
        if key not in _ARGS[command]:
            raise ConfigError(
                f"mlsd {command}: unknown argument '{key}'.{did_you_mean(key, _ARGS[command])} "
                f"Arguments: {choices_text(_ARGS[command])}."
            )
        args[key] = value
    return args


def _required(command: str, args: dict[str, str], key: str) -> str:
    if not args.get(key):
        raise ConfigError(f"mlsd {command}: {key}=... is required. See: mlsd {command} --help")
    return args[key]


def _list(value: str | None) -> list[str]:
    """`a,b` or `[a,b]` -> ['a', 'b']."""
    value = (value or "").strip().removeprefix("[").removesuffix("]")
    return [v.strip() for v in value.split(",") if v.strip()]


def _int(command: str, args: dict[str, str], key: str, default: int | None) -> int | None:
    if key not in args:
        return default
    try:
        value = int(args[key])
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"mlsd {command}: {key} must be a positive integer, got '{args[key]}'.")
    return value


def export_command(argv: list[str]) -> None:
    from framework.deployment.export import export_run

    args = parse("export", argv)
    run_dir = _required("export", args, "run_dir")
    backends = None if args.get("backend", "all") == "all" else _list(args["backend"])
    out = export_run(run_dir, args.get("out"), backends)
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"serving artefact: {out}  (backends: {', '.join(manifest['backends'])}; model {manifest['model']})")


def predict_command(argv: list[str]) -> None:
    from framework.deployment.export import check_backends
    from framework.serving.artifact import read_artifact
    from framework.serving.backends import load_scorer
    from framework.serving.batch import CHUNK_ROWS, predict_file
    from framework.serving.encode import RowEncoder

    args = parse("predict", argv)
    _one_source("predict", args)  # before the other checks: a run_dir is exported only once they pass
    input_path, output_path = _required("predict", args, "input"), _required("predict", args, "output")
    backend = args.get("backend", "onnx")
    check_backends([backend])
    chunk_rows = _int("predict", args, "chunk_rows", CHUNK_ROWS)
    threads = _int("predict", args, "threads", None)
    path = _artifact_path("predict", args)
    artifact = read_artifact(path)
    if artifact.manifest["kind"] != "ctr":
        raise ConfigError(f"mlsd predict scores ctr (ad click) artefacts; {path} is a {artifact.manifest['kind']} one.")
    scorer = load_scorer(artifact, backend, threads)
    report = predict_file(
        scorer, RowEncoder(artifact.encoder), input_path, output_path, _list(args.get("keep")), chunk_rows
    )
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in report["stage_seconds"].items())
    print(
        f"scored {report['rows']} rows in {report['seconds']:.2f}s ({report['rows_per_s']:.0f} rows/s, "
        f"{backend}; {stages}) -> {report['output']}"
    )


SERVE_HELP = """\
mlsd serve (run_dir=DIR | artifact=DIR) [backend=onnx] [batching=false] [max_wait_ms=2] [max_batch_rows=8192]
           [max_candidates=2000] [threads=N] [host=127.0.0.1] [port=8000]

Serve a model over HTTP (FastAPI on uvicorn), GET /health, GET /metadata, and for an ad click run
POST /rank {"context": {...}, "candidates": [{...}, ...]} -> {"scores": [...]}, for a video run
POST /recommend {"user": 17, "k": 10} -> {"items": [...], "scores": [...]} (both stages).
run_dir=DIR serves DIR/serving (exported first if absent). batching=true scores concurrent requests
together (a batch closes after max_wait_ms or max_batch_rows rows).
Bad requests get a 4xx naming the field; the server keeps serving. Load test: scripts/load_test.py.

  mlsd serve run_dir=outputs/2026-12-04/09-00-00 backend=onnx batching=true
  curl -s localhost:8000/rank -d '{"context": {"I1": 3}, "candidates": [{"C1": 17}, {"C1": 99}]}'
"""


def _flag(command: str, args: dict[str, str], key: str) -> bool:
    value = args.get(key, "false").lower()
    if value not in ("true", "false"):
        raise ConfigError(f"mlsd {command}: {key} must be true or false, got '{args[key]}'.")
    return value == "true"


def _one_source(command: str, args: dict[str, str]) -> None:
    if ("run_dir" in args) == ("artifact" in args):
        raise ConfigError(f"mlsd {command}: give run_dir=... or artifact=... (one of them). See: mlsd {command} --help")


def _artifact_path(command: str, args: dict[str, str]) -> Path:
    """artifact=DIR, or run_dir=DIR's serving artefact (exported first when it is not there yet)."""
    from framework.deployment.export import export_run
    from framework.serving.artifact import MANIFEST, default_artifact_dir

    _one_source(command, args)
    if "artifact" in args:
        return Path(args["artifact"])
    path = default_artifact_dir(Path(args["run_dir"]).expanduser())
    if not (path / MANIFEST).is_file():
        print(f"no serving artefact in {path}: exporting the run first", file=sys.stderr)
        export_run(args["run_dir"])
    return path


def serve_command(argv: list[str]) -> None:
    from framework.deployment.export import check_backends
    from framework.serving.artifact import read_artifact

    args = parse("serve", argv)
    backend = args.get("backend", "onnx")
    check_backends([backend])
    artifact = read_artifact(_artifact_path("serve", args))
    try:
        max_wait_ms = float(args.get("max_wait_ms", 2.0))
    except ValueError:
        max_wait_ms = -1.0
    if not 0 <= max_wait_ms <= 1000:
        raise ConfigError(
            f"mlsd serve: max_wait_ms must be a number of milliseconds in [0, 1000], got '{args['max_wait_ms']}'."
        )
    from framework.deployment.http import ServeSettings, serve

    settings = ServeSettings(
        backend=backend,
        batching=_flag("serve", args, "batching"),
        max_wait_ms=max_wait_ms,
        max_batch_rows=_int("serve", args, "max_batch_rows", 8192),
        max_candidates=_int("serve", args, "max_candidates", 2000),
        threads=_int("serve", args, "threads", None),
    )
    host, port = args.get("host", "127.0.0.1"), _int("serve", args, "port", 8000)
    print(
        f"serving {artifact.manifest.get('model')} ({backend}) on http://{host}:{port}"
        "  (POST /rank, GET /health, GET /metadata)"
    )
    serve(artifact, settings, host, port)


COMMANDS = {
    "export": (export_command, EXPORT_HELP),
    "predict": (predict_command, PREDICT_HELP),
    "serve": (serve_command, SERVE_HELP),
}


def main(argv: list[str]) -> None:
    """`argv[0]` is the command (export, predict); a UserError propagates (framework.cli prints it, exit 2)."""
    command, rest = argv[0], argv[1:]
    run, help_text = COMMANDS[command]
    if "--help" in rest or "-h" in rest:
        print(help_text)
        return
    run(rest)
