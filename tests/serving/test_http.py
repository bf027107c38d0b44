"""The HTTP server of an exported ad click run: /rank gives the trained model's scores (with and without
micro-batching, concurrent requests answered in order), bad requests get a 4xx naming the field and the
server keeps answering, `mlsd serve` runs a real uvicorn server, and the load test runs end to end."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from framework.deployment.export import export_run
from framework.deployment.http import ServeSettings, create_app
from framework.serving.artifact import read_artifact
from framework.serving.backends import load_scorer
from framework.serving.encode import RowEncoder
from tests.conftest import ROOT
from tests.serving.helpers import ATOL, RunRows, run_rows, train


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, RunRows]:
    run_dir = train(tmp_path_factory.mktemp("http") / "run", "dcn", "dataset.negative_rate=0.5")
    return run_dir, export_run(run_dir), run_rows(run_dir)


def _requests(rows: RunRows, n: int, size: int) -> list[tuple[dict, np.ndarray]]:
    """`n` requests of `size` test rows each: the first row's numeric fields as the context (the user side),
    every row's categorical fields as a candidate; and the trained model's probabilities for those rows."""
    numeric = [c for c in rows.raw.columns if c.startswith("I")]
    categorical = [c for c in rows.raw.columns if c.startswith("C")]
    out = []
    for r in range(n):
        part = rows.raw.slice(r * size, size)
        # the context's numbers apply to every candidate: give each candidate its own as well (a candidate's
        # field wins), so the scores are the trained model's on exactly these rows
        candidates = part.select([*categorical, *numeric]).to_dicts()
        context = part.select(numeric).row(0, named=True)
        out.append(({"context": context, "candidates": candidates}, rows.reference[r * size : (r + 1) * size]))
    return out


@pytest.mark.parametrize("batching", [False, True], ids=["one-by-one", "micro-batched"])
def test_rank_gives_the_trained_models_scores(batching: bool, run: tuple[Path, Path, RunRows]) -> None:
    _, artifact, rows = run
    app = create_app(read_artifact(artifact), ServeSettings(backend="onnx", batching=batching))
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        for body, reference in _requests(rows, 3, 40):
            response = client.post("/rank", json=body)
            assert response.status_code == 200, response.text
            np.testing.assert_allclose(response.json()["scores"], reference, atol=ATOL["onnx"])
        meta = client.get("/metadata").json()
    assert meta["model"] == "dcn" and meta["backend"] == "onnx" and meta["settings"]["batching"] is batching
    assert meta["columns"]["categorical"][0] == "C1" and "I1" in meta["columns"]["numeric"]
    assert meta["latency_budget_ms"] == 50  # the ad click card's, carried by the artefact


def test_concurrent_requests_share_batches_and_each_gets_its_own_scores(run: tuple[Path, Path, RunRows]) -> None:
    _, artifact, rows = run
    app = create_app(read_artifact(artifact), ServeSettings(backend="export", batching=True, max_wait_ms=50))
    requests = _requests(rows, 8, 25)

    async def fire() -> tuple[list[httpx.Response], dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mlsd") as client:
            responses = await asyncio.gather(*(client.post("/rank", json=body) for body, _ in requests))
            return list(responses), (await client.get("/metadata")).json()

    responses, meta = asyncio.run(fire())
    for response, (_, reference) in zip(responses, requests, strict=True):
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["scores"], reference, atol=ATOL["export"])
    assert meta["batches"]["requests"] == 8 and meta["batches"]["batches"] < 8  # some were scored together


BAD = [  # (raw body, status, what the error must name)
    (b'{"context": {}, "candidates": [', 400, "malformed JSON"),
    (b"[1, 2]", 422, "body: expected a JSON object"),
    (b'{"context": {}}', 422, "candidates: expected a list"),
    (b'{"candidates": []}', 422, "candidates: the list is empty"),
    (b'{"candidates": [7]}', 422, "candidates[0]: expected an object"),
    (b'{"candidates": [{"C1": 1}], "contxt": {}}', 422, "contxt: unknown field"),
    (b'{"context": [], "candidates": [{"C1": 1}]}', 422, "context: expected an object"),
    (b'{"context": {"I1": true}, "candidates": [{"C1": 1}]}', 422, "context.I1: expected a number"),
    (b'{"candidates": [{"C1": {"id": 1}}]}', 422, "candidates[0].C1: expected a number, a string id or null"),
    (b'{"context": {"I1": NaN}, "candidates": [{"C1": 1}]}', 422, "context.I1: nan is not a finite number"),
    (b'{"candidates": [{"C1": 1}]}', 422, "column C2 is missing"),
]


def test_bad_requests_get_a_4xx_naming_the_field_and_the_server_keeps_serving(run: tuple[Path, Path, RunRows]) -> None:
    _, artifact, rows = run
    good, reference = _requests(rows, 1, 10)[0]
    app = create_app(read_artifact(artifact), ServeSettings(backend="onnx", batching=True, max_candidates=50))
    with TestClient(app) as client:
        for body, status, message in BAD:
            response = client.post("/rank", content=body, headers={"content-type": "application/json"})
            assert (response.status_code, message in response.json()["error"]) == (status, True), response.text
        wrong_type = json.loads(json.dumps(good))
        wrong_type["candidates"][3]["I2"] = "twelve"
        response = client.post("/rank", json=wrong_type)
        assert response.status_code == 422
        assert response.json()["error"].startswith("candidates[3].I2: expected a number as in training, found 'twelve'")
        oversized = {"context": good["context"], "candidates": good["candidates"] * 6}
        response = client.post("/rank", json=oversized)
        assert response.status_code == 413 and "at most 50" in response.json()["error"]
        # after every bad request the server still answers, with the same scores
        np.testing.assert_allclose(client.post("/rank", json=good).json()["scores"], reference, atol=ATOL["onnx"])


def test_unknown_ids_and_missing_numbers_score_as_in_training(run: tuple[Path, Path, RunRows]) -> None:
    _, artifact, rows = run
    a = read_artifact(artifact)
    body, _ = _requests(rows, 1, 4)[0]
    body["candidates"][0]["C1"] = 4_000_000_000  # never seen: the out-of-vocabulary id
    body["candidates"][1]["C2"] = None  # missing id
    body["candidates"][2]["I1"] = None  # missing number (the candidate's null wins over the context)
    with TestClient(create_app(a, ServeSettings(backend="onnx"))) as client:
        response = client.post("/rank", json=body)
    assert response.status_code == 200, response.text
    from framework.serving.encode import request_frame

    encoder = RowEncoder(a.encoder)
    expected = load_scorer(a, "onnx").score(encoder.encode(request_frame(body["context"], body["candidates"])))
    np.testing.assert_allclose(response.json()["scores"], expected, atol=ATOL["onnx"])
    assert all(math.isfinite(s) for s in response.json()["scores"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlsd_serve_runs_a_real_server(run: tuple[Path, Path, RunRows]) -> None:
    run_dir, _, rows = run
    port = _free_port()
    command = [sys.executable, "-c", "from framework.cli import main; main()", "serve", f"run_dir={run_dir}"]
    server = subprocess.Popen(
        [*command, "backend=torch", "batching=true", f"port={port}"], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        body, reference = _requests(rows, 1, 20)[0]
        response = httpx.post(f"{url}/rank", json=body, timeout=10)
        np.testing.assert_allclose(response.json()["scores"], reference, atol=ATOL["torch"])
        assert httpx.post(f"{url}/rank", content=b"{", timeout=10).status_code == 400
        assert httpx.get(f"{url}/metadata", timeout=10).json()["backend"] == "torch"
    finally:
        server.terminate()
        server.wait(10)


def test_serve_errors_name_the_argument(run: tuple[Path, Path, RunRows], tmp_path: Path) -> None:
    run_dir, artifact, _ = run
    cases = [
        (["serve", f"artifact={artifact}", "backend=tensorrt"], "Unknown backend 'tensorrt'"),
        (["serve", f"artifact={artifact}", "batching=maybe"], "batching must be true or false"),
        (["serve", f"artifact={artifact}", "prot=8000"], "unknown argument 'prot'"),
        (["serve", f"artifact={artifact}", f"run_dir={run_dir}"], "give run_dir=... or artifact=..."),
        (["serve", f"artifact={artifact}", "max_wait_ms=-3"], "max_wait_ms must be a number of milliseconds"),
    ]
    for args, message in cases:
        done = subprocess.run(
            [sys.executable, "-c", "from framework.cli import main; main()", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and message in done.stderr.replace("\n", " "), (args, done.stderr)


@pytest.mark.slow
def test_the_load_test_reports_throughput_and_the_budget(run: tuple[Path, Path, RunRows], tmp_path: Path) -> None:
    run_dir, _, _ = run
    args = ["--run-dir", str(run_dir), "--backends", "onnx", "--batching", "on", "--concurrency", "1", "4"]
    args += ["--candidates", "20", "--seconds", "1", "--requests", "50", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["budget_ms"] == 50 and [r["users"] for r in results["results"]] == [1, 4]
    assert all(r["requests"] > 0 and r["errors"] == 0 and r["rps"] > 0 for r in results["results"])
    assert all(r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] for r in results["results"])
    report = (tmp_path / "report.md").read_text()
    assert "Highest load meeting the budget" in report and (tmp_path / "latency_vs_throughput.png").stat().st_size


@pytest.fixture(scope="module")
def video_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import FAST, run_cli

    run_dir = tmp_path_factory.mktemp("video") / "run"
    assert run_cli("case=video_recommendation", *FAST, f"hydra.run.dir={run_dir}") == 0
    return export_run(run_dir)


def test_recommend_gives_both_stages_top_k_and_names_bad_fields(video_artifact: Path) -> None:
    from framework.deployment.two_stage import Recommender

    a = read_artifact(video_artifact)
    reference = Recommender(a, "onnx")
    with TestClient(create_app(a, ServeSettings(backend="onnx"))) as client:
        meta = client.get("/metadata").json()
        assert meta["kind"] == "two_stage" and meta["endpoints"]["recommend"] == "POST /recommend"
        for user in (0, 7, meta["users"] - 1):
            response = client.post("/recommend", json={"user": user, "k": 5})
            assert response.status_code == 200, response.text
            items, scores = reference.recommend(user, 5)
            assert response.json()["items"] == items.tolist()
            np.testing.assert_allclose(response.json()["scores"], scores, atol=ATOL["onnx"])
        bad = [
            ({"user": meta["users"]}, 404, f"user: {meta['users']} is unknown"),
            ({"user": "3"}, 422, "user: expected an integer user index, got a string"),
            ({"k": 3}, 422, "user: expected an integer user index, got nothing"),
            ({"user": 1, "k": 0}, 422, "k: expected an integer in 1.."),
            ({"user": 1, "k": meta["candidates"] + 1}, 422, "k: expected an integer in 1.."),
            ({"user": 1, "kk": 3}, 422, "kk: unknown field"),
        ]
        for body, status, message in bad:
            response = client.post("/recommend", json=body)
            assert (response.status_code, message in response.json()["error"]) == (status, True), response.text
        assert (
            client.post("/recommend", content=b"{user", headers={"content-type": "application/json"}).status_code == 400
        )
        assert client.post("/rank", json={"candidates": []}).status_code == 404  # a recommender has no /rank
        assert client.post("/recommend", json={"user": 0}).status_code == 200  # still serving


def test_batching_is_refused_for_a_recommender(video_artifact: Path) -> None:
    from framework.errors import ConfigError

    with pytest.raises(ConfigError, match="batching=true applies to ranking requests"):
        create_app(read_artifact(video_artifact), ServeSettings(backend="onnx", batching=True))
