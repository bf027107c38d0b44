"""Export and batch prediction on one tiny DCN run (trained on a negatively downsampled log, so the
recalibration shift is part of what must survive export): encoding parity, score parity per backend, batch
prediction vs row-by-row scoring, the CLI and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.data.tabular.features import MISSING, OOV
from framework.deployment.export import export_run
from framework.serving.artifact import BACKENDS, read_artifact
from framework.serving.backends import load_scorer
from framework.serving.batch import predict_file
from framework.serving.encode import RowEncoder, request_frame
from tests.conftest import run_cli
from tests.serving.helpers import ATOL, RunRows, run_rows, train

pytestmark = pytest.mark.slow  # a module-wide trained run (~15 s), then ~1 s per test


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, RunRows]:
    run_dir = train(tmp_path_factory.mktemp("dcn") / "run", "dcn", "dataset.negative_rate=0.5")
    return run_dir, export_run(run_dir), run_rows(run_dir)


def test_artifact_is_self_contained(run: tuple[Path, Path, RunRows]) -> None:
    run_dir, path, _ = run
    moved = path.parent.parent / "moved-artifact"
    shutil.copytree(path, moved)
    artifact = read_artifact(moved)  # checksums verified
    assert artifact.backends == list(BACKENDS)
    assert artifact.logit_shift == pytest.approx(np.log(0.5))
    assert json.loads((run_dir / "encoder.json").read_text()) == artifact.encoder
    (moved / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(Exception, match="changed since export"):
        read_artifact(moved)


def test_raw_rows_encode_as_training_did(run: tuple[Path, Path, RunRows]) -> None:
    _, path, rows = run
    encoded = RowEncoder(read_artifact(path).encoder).encode(rows.raw)
    np.testing.assert_array_equal(encoded.categorical, rows.categorical)
    np.testing.assert_array_equal(encoded.numeric, rows.numeric)
    # the split has unseen/rare ids (OOV) and missing ids: both paths are compared above
    assert (rows.categorical == OOV).any() and (rows.categorical == MISSING).any()


def test_unknown_and_missing_values_get_trainings_ids(run: tuple[Path, Path, RunRows]) -> None:
    _, path, rows = run
    encoder = RowEncoder(read_artifact(path).encoder)
    context = {c: rows.raw.get_column(c)[0] for c in encoder.columns}
    frame = request_frame(context, [{"C1": 4_000_000_000}, {"C1": None, "I1": None}, {}])
    encoded = encoder.encode(frame)
    assert encoded.categorical[0, 0] == OOV and encoded.categorical[1, 0] == MISSING
    assert encoded.numeric[1, 0] == 0.0  # a missing number: the train mean, 0 after standardisation
    np.testing.assert_array_equal(encoded.categorical[2], rows.categorical[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_exported_scores_equal_the_trained_models(backend: str, run: tuple[Path, Path, RunRows]) -> None:
    _, path, rows = run
    artifact = read_artifact(path)
    scores = load_scorer(artifact, backend).score(RowEncoder(artifact.encoder).encode(rows.raw))
    np.testing.assert_allclose(scores, rows.reference, rtol=0, atol=ATOL[backend])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_batch_prediction_equals_scoring_rows_one_by_one(
    suffix: str, run: tuple[Path, Path, RunRows], tmp_path: Path
) -> None:
    _, path, rows = run
    artifact = read_artifact(path)
    encoder, scorer = RowEncoder(artifact.encoder), load_scorer(artifact, "onnx")
    frame = rows.raw.with_row_index("request_id")
    frame = pl.concat([frame, frame.head(3).with_columns(C3=pl.lit(123, pl.UInt32))])  # an unseen id, too
    source = tmp_path / f"rows{suffix}"
    frame.write_csv(source) if suffix == ".csv" else frame.write_parquet(source)
    report = predict_file(scorer, encoder, source, tmp_path / "scores.tsv", keep=["request_id"], chunk_rows=97)
    assert report["rows"] == frame.height and report["rows_per_s"] > 0
    out = pl.read_csv(tmp_path / "scores.tsv", separator="\t")
    assert out.columns == ["request_id", "score"]
    assert out.get_column("request_id").to_list() == frame.get_column("request_id").to_list()
    one_by_one = [scorer.score(encoder.encode(frame.slice(i, 1)))[0] for i in range(frame.height)]
    np.testing.assert_allclose(out.get_column("score").to_numpy(), one_by_one, rtol=0, atol=ATOL["onnx"])


def test_cli_exports_and_predicts(run: tuple[Path, Path, RunRows], tmp_path: Path) -> None:
    run_dir, _, rows = run
    rows.raw.write_parquet(tmp_path / "rows.parquet")
    assert run_cli("export", f"run_dir={run_dir}", "backend=export", f"out={tmp_path / 'art'}") == 0
    assert read_artifact(tmp_path / "art").backends == ["export"]
    args = (f"artifact={tmp_path / 'art'}", f"input={tmp_path / 'rows.parquet'}", f"output={tmp_path / 's.parquet'}")
    assert run_cli("predict", *args, "backend=export") == 0
    scores = pl.read_parquet(tmp_path / "s.parquet").get_column("score").to_numpy()
    np.testing.assert_allclose(scores, rows.reference, rtol=0, atol=ATOL["export"])


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run_cli(*args) == 2
    return " ".join(capsys.readouterr().err.split())  # rich wraps long lines


def test_export_errors_name_the_problem(
    run: tuple[Path, Path, RunRows], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, _, _ = run
    bare = tmp_path / "no-checkpoint"
    bare.mkdir()
    record = json.loads((run_dir / "run.json").read_text())
    record["checkpoints"] = {"best": str(bare / "checkpoints" / "gone.ckpt")}
    (bare / "run.json").write_text(json.dumps(record))
    shutil.copy(run_dir / "config_resolved.yaml", bare)
    assert "no best checkpoint (checkpoints/best-*.ckpt)" in _error(capsys, "export", f"run_dir={bare}")
    assert "Unknown backend 'tensorrt'" in _error(capsys, "export", f"run_dir={run_dir}", "backend=tensorrt")
    assert "no run.json" in _error(capsys, "export", f"run_dir={tmp_path}")
    assert "unknown argument 'rundir'" in _error(capsys, "export", f"rundir={run_dir}")
    assert "is not a serving artefact: not replacing it" in _error(
        capsys, "export", f"run_dir={run_dir}", f"out={bare}"
    )
    assert (bare / "run.json").exists()


def test_predict_errors_name_the_column_and_file(
    run: tuple[Path, Path, RunRows], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path, rows = run
    predict = ("predict", f"artifact={path}", f"output={tmp_path / 'out.csv'}")
    bad = tmp_path / "no_c7.csv"
    rows.raw.drop("C7").write_csv(bad)
    assert f"{bad}: column C7 is missing" in _error(capsys, *predict, f"input={bad}")
    nan = tmp_path / "nan.csv"
    rows.raw.with_columns(pl.Series("I4", [float("nan")] + [1.0] * (rows.raw.height - 1))).write_csv(nan)
    assert f"{nan}, row 1, column I4: NaN or infinite" in _error(capsys, *predict, f"input={nan}")
    text = tmp_path / "text.csv"
    rows.raw.with_columns(pl.lit("abc").alias("C2")).write_csv(text)
    assert f"{text}, row 1, column C2: expected an integer id (UInt32)" in _error(capsys, *predict, f"input={text}")
    assert "Unknown backend 'tvm'" in _error(capsys, *predict, f"input={text}", "backend=tvm")
    assert not (tmp_path / "out.csv").exists()  # no partial output after a failure


def test_a_run_without_encoder_json_gets_its_encoder_fit_again(run: tuple[Path, Path, RunRows], tmp_path: Path) -> None:
    run_dir, path, _ = run
    old = tmp_path / "old-run"  # as a run made before runs saved encoder.json
    shutil.copytree(run_dir, old, ignore=shutil.ignore_patterns("serving", "encoder.json"))
    assert read_artifact(export_run(old, backends=["torch"])).encoder == read_artifact(path).encoder
