"""Every ad click model, exported to every backend, scores the test split as the trained model does: raw
rows -> the artefact's encoder -> each backend, against the trained CTRTask's `predict_step` on the
training encoder's arrays, and against the test log loss the run itself recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework.deployment.export import export_run
from framework.serving.artifact import BACKENDS, read_artifact
from framework.serving.backends import load_scorer
from framework.serving.encode import RowEncoder
from framework.validation import models_for_kind
from tests.conftest import read_run
from tests.serving.helpers import ATOL, log_loss, run_rows, train

pytestmark = pytest.mark.slow

VARIANTS = {  # every ctr model, plus the encodings and options that change what export must carry
    **{m: (m,) for m in models_for_kind("ctr")},
    "wide_deep_crosses_downsampled": ("wide_deep", "model.wide_crosses=[[C1,C6],[C2,C9]]", "dataset.negative_rate=0.3"),
    "dcn_v2_hashing": ("dcn_v2", "dataset.features.hash_buckets=1000", "dataset.features.missing_indicators=true"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_backend_scores_as_the_trained_model(variant: str, tmp_path: Path) -> None:
    model, *overrides = VARIANTS[variant]
    run_dir = train(tmp_path / "run", model, *overrides)
    artifact = read_artifact(export_run(run_dir))
    rows = run_rows(run_dir)
    encoded = RowEncoder(artifact.encoder).encode(rows.raw)
    np.testing.assert_array_equal(encoded.categorical, rows.categorical)
    np.testing.assert_array_equal(encoded.numeric, rows.numeric)
    recorded = read_run(run_dir)["metrics"]["test/log_loss"]
    for backend in BACKENDS:
        scores = load_scorer(artifact, backend).score(encoded)
        print(f"{variant} {backend}: max |diff| {np.abs(scores - rows.reference).max():.3g}")
        np.testing.assert_allclose(scores, rows.reference, rtol=0, atol=ATOL[backend], err_msg=backend)
        assert log_loss(scores, rows.label) == pytest.approx(recorded, rel=1e-4), backend
