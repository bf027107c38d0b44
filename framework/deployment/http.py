"""The HTTP server of a serving artefact (FastAPI on uvicorn): `mlsd serve artifact=DIR` (or run_dir=DIR).
A ranking artefact (ad click) answers /rank, a two-stage one (video) /recommend.

    GET  /health     {"status": "ok", ...}: the model is loaded and answers
    GET  /metadata   the model, its backend, the raw columns a request may send, limits, the latency budget
    POST /rank       {"context": {"I1": 3, "C1": "a9"}, "candidates": [{"C3": "ad1"}, {"C3": "ad2"}]}
                     -> {"scores": [0.031, 0.012]}: the calibrated click probability of each candidate ad
                     in order (one user context + N candidates: the ad click case's request)
    POST /recommend  {"user": 17, "k": 10} -> {"user": 17, "items": [...], "scores": [...]}: a video
                     recommendation artefact's top k for one user after both stages (stage 1's index, then
                     the ranker), its seen items left out

A field in both the context and a candidate takes the candidate's value; a column the model needs and
neither gives is an error (a missing number may be sent as null: it is encoded as in training, an unseen
id scores as the out-of-vocabulary id exactly as in training). Bad requests get a 4xx whose `error` names
the field: malformed JSON (400), a wrong type or shape (422), a missing or ill-typed column, a NaN
(422), too many candidates (413). Anything unexpected while scoring is a 500 for that request only.

Each request is checked and encoded on its own as it arrives (`framework.serving.lookup`: dict lookups for
the usual request; the polars encoder, which also writes the error messages, otherwise), so one bad
request fails alone. Micro-batching (`batching=true`): concurrent requests' rows are then scored in one
model call. The first waiting request opens a batch; it closes after `max_wait_ms` or once it holds
`max_batch_rows` rows, whichever is first. The model always runs on one worker thread, off the event loop,
so requests queue there instead of competing for the cores (its own intra-op threads: `threads`).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, Request  # at module level: FastAPI reads the endpoints' annotations from here
from fastapi.responses import JSONResponse

from framework.errors import DataError
from framework.serving.encode import EncodedRows, request_frame

if TYPE_CHECKING:
    from framework.serving.artifact import Artifact
    from framework.serving.backends import Scorer
    from framework.serving.encode import RowEncoder


@dataclass(frozen=True)
class ServeSettings:
    backend: str = "onnx"
    batching: bool = False
    max_wait_ms: float = 2.0  # how long the first request of a batch waits for others
    max_batch_rows: int = 8192  # a batch closes once its requests hold this many rows
    max_candidates: int = 2000  # rows one request may ask to score (413 beyond)
    threads: int | None = None  # the model's intra-op threads (None: the backend's default)


class RequestError(Exception):
    """A bad request: an HTTP status and a message naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RankingService:
    """Checks, encodes and scores ranking requests; holds the one worker thread that runs the model."""

    def __init__(self, artifact: Artifact, settings: ServeSettings) -> None:
        from framework.serving.backends import load_scorer
        from framework.serving.encode import RowEncoder
        from framework.serving.lookup import LookupEncoder

        self.artifact = artifact
        self.settings = settings
        self.encoder: RowEncoder = RowEncoder(artifact.encoder)
        self.lookup = LookupEncoder(self.encoder, artifact.encoder)
        self.scorer: Scorer = load_scorer(artifact, settings.backend, settings.threads)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlsd-score")
        self.batcher = MicroBatcher(self.scorer, self.worker, settings) if settings.batching else None

    def request_rows(self, body: Any) -> EncodedRows:
        """The request's candidates encoded for the model (RequestError naming the field if they cannot be):
        by dict lookups for the usual request, through the polars encoder (and its checks) otherwise."""
        context, candidates = _parse_rank_body(body, self.settings.max_candidates)
        rows = self.lookup.encode(context, candidates)
        if rows is not None:
            return rows
        _check_values(context, candidates)
        try:
            return self.encoder.encode(request_frame(context, candidates), "request")
        except DataError as exc:  # "request, row 3, column C1: ..." -> "candidates[2].C1: ..." (the JSON path)
            message = re.sub(r"^request, row (\d+), column ([^:]+):", _json_path, str(exc))
            raise RequestError(422, message) from None

    async def rank(self, body: Any) -> np.ndarray:
        rows = self.request_rows(body)
        if self.batcher is not None:
            return await self.batcher.score(rows)
        return await asyncio.get_running_loop().run_in_executor(self.worker, self.scorer.score, rows)

    def metadata(self) -> dict[str, Any]:
        columns = {"categorical": self.encoder.categorical, "numeric": self.encoder.numeric}
        return _metadata(self.artifact, self.settings, "rank") | {"columns": columns}


class MicroBatcher:
    """Groups concurrent requests' rows into one scoring call (see the module docstring)."""

    def __init__(self, scorer: Scorer, worker: ThreadPoolExecutor, settings: ServeSettings) -> None:
        self.scorer = scorer
        self.worker = worker  # the service's one model thread
        self.max_wait_s = settings.max_wait_ms / 1000.0
        self.max_rows = settings.max_batch_rows
        self.queue: asyncio.Queue[tuple[EncodedRows, asyncio.Future]] | None = None
        self.batches = 0
        self.requests = 0

    async def score(self, rows: EncodedRows) -> np.ndarray:
        if self.queue is None:  # created on the server's loop, with the task that drains it
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._drain())
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self.queue.put((rows, future))
        return await future

    async def _drain(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            rows = len(batch[0][0])
            deadline = time.perf_counter() + self.max_wait_s
            while rows < self.max_rows:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
                batch.append(item)
                rows += len(item[0])
            self.batches += 1
            self.requests += len(batch)
            try:
                scores = await loop.run_in_executor(self.worker, self._score, [rows for rows, _ in batch])
            except Exception as exc:  # every waiting request gets the error; the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            parts = [rows for rows, _ in batch]
            for (_, future), part_scores in zip(batch, np.split(scores, EncodedRows.offsets(parts)), strict=True):
                if not future.done():  # its client may have gone
                    future.set_result(part_scores)

    def _score(self, parts: list[EncodedRows]) -> np.ndarray:
        return self.scorer.score(EncodedRows.concat(parts))


def _parse_rank_body(body: Any, max_candidates: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`{"context": {...}, "candidates": [{...}, ...]}` checked field by field (RequestError names it)."""
    if not isinstance(body, dict):
        raise RequestError(422, f"body: expected a JSON object with 'context' and 'candidates', got {_kind(body)}.")
    unknown = sorted(set(body) - {"context", "candidates"})
    if unknown:
        raise RequestError(422, f"{unknown[0]}: unknown field; a request has 'context' and 'candidates'.")
    context = body.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise RequestError(422, f"context: expected an object of column: value, got {_kind(context)}.")
    candidates = body.get("candidates")
    if not isinstance(candidates, list):
        got = "nothing" if candidates is None else _kind(candidates)
        raise RequestError(422, f"candidates: expected a list of objects (one per ad to score), got {got}.")
    if not candidates:
        raise RequestError(422, "candidates: the list is empty; send at least one candidate to score.")
    if len(candidates) > max_candidates:
        raise RequestError(
            413,
            f"candidates: {len(candidates)} in one request, the server scores at most {max_candidates} "
            f"(split the request, or serve with max_candidates=...).",
        )
    for i, candidate in enumerate(candidates):
        if not isinstance(candidate, dict):
            raise RequestError(422, f"candidates[{i}]: expected an object of column: value, got {_kind(candidate)}.")
    return context, candidates


def _check_values(context: dict[str, Any], candidates: list[dict[str, Any]]) -> None:
    """Every field a number, a string id or null (a RequestError names the first that is not). Only the
    polars path needs it: the lookup encoder takes nothing else."""
    for where, fields in (
        ("context", context.items()),
        *((f"candidates[{i}]", c.items()) for i, c in enumerate(candidates)),
    ):
        for name, value in fields:
            if not (value is None or isinstance(value, str | int | float)) or isinstance(value, bool):
                raise RequestError(422, f"{where}.{name}: expected a number, a string id or null, got {_kind(value)}.")
            if isinstance(value, float) and not math.isfinite(value):
                raise RequestError(422, f"{where}.{name}: {value} is not a finite number.")


def _metadata(artifact: Artifact, settings: ServeSettings, endpoint: str) -> dict[str, Any]:
    """What GET /metadata says about any artefact: the model, its backends, limits, the latency budget."""
    m = artifact.manifest
    return {
        "kind": m.get("kind"),
        "case": m.get("case"),
        "model": m.get("model"),
        "backend": settings.backend,
        "backends": artifact.backends,
        "latency_budget_ms": m.get("latency_budget_ms"),
        "settings": asdict(settings),
        "run": {k: v for k, v in m.get("run", {}).items() if k in ("run_dir", "checkpoint", "git")},
        "endpoints": {endpoint: f"POST /{endpoint}", "health": "GET /health", "metadata": "GET /metadata"},
    }


def _json_path(match: re.Match) -> str:
    return f"candidates[{int(match.group(1)) - 1}].{match.group(2)}:"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


class RecommendService:
    """Both stages of a video recommendation artefact for one user per request (`Recommender`)."""

    def __init__(self, artifact: Artifact, settings: ServeSettings) -> None:
        from framework.deployment.two_stage import Recommender
        from framework.errors import ConfigError

        if settings.batching:  # a setting that would do nothing is an error
            raise ConfigError("batching=true applies to ranking requests (/rank); /recommend serves one user a call.")
        self.artifact = artifact
        self.settings = settings
        self.recommender = Recommender(artifact, settings.backend, settings.threads)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlsd-recommend")

    def parse(self, body: Any) -> tuple[int, int]:
        """`{"user": 17, "k": 10}` checked (RequestError naming the field)."""
        if not isinstance(body, dict):
            raise RequestError(422, f"body: expected a JSON object with 'user' (and 'k'), got {_kind(body)}.")
        unknown = sorted(set(body) - {"user", "k"})
        if unknown:
            raise RequestError(422, f"{unknown[0]}: unknown field; a request has 'user' and optionally 'k'.")
        n_users, most = len(self.recommender.users), self.recommender.k
        user, k = body.get("user"), body.get("k", 10)
        if type(user) is not int:
            got = "nothing" if user is None else _kind(user)
            raise RequestError(422, f"user: expected an integer user index, got {got}.")
        if not 0 <= user < n_users:
            raise RequestError(404, f"user: {user} is unknown; users are 0..{n_users - 1}.")
        if type(k) is not int or not 1 <= k <= most:
            raise RequestError(
                422, f"k: expected an integer in 1..{most} (the candidates stage 1 retrieves), got {k!r}."
            )
        return user, k

    async def recommend(self, body: Any) -> dict[str, Any]:
        user, k = self.parse(body)
        loop = asyncio.get_running_loop()
        items, scores = await loop.run_in_executor(self.worker, self.recommender.recommend, user, k)
        keep = items >= 0  # a catalogue smaller than k pads with -1
        return {"user": user, "items": items[keep].tolist(), "scores": [float(s) for s in scores[keep]]}

    def metadata(self) -> dict[str, Any]:
        extra = {"users": len(self.recommender.users), "candidates": self.recommender.k}
        return (
            _metadata(self.artifact, self.settings, "recommend")
            | extra
            | {"index": self.artifact.manifest.get("index")}
        )


def create_app(artifact: Artifact, settings: ServeSettings) -> FastAPI:
    """The FastAPI application serving `artifact` (its model loaded once, here): /rank for a ranking model
    (ad click), /recommend for a two-stage recommender (video)."""
    import json

    kind = artifact.manifest.get("kind")
    service = RecommendService(artifact, settings) if kind == "two_stage" else RankingService(artifact, settings)
    app = FastAPI(title=f"mlsd {artifact.manifest.get('case')} · {artifact.manifest.get('model')}")
    app.state.service = service

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def answer(request: Request, handle: Any) -> JSONResponse:
        """Parse the JSON body, run `handle` on it; every failure is this request's answer, not the server's."""
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            return error(400, f"body: malformed JSON{where} ({exc.msg if hasattr(exc, 'msg') else exc}).")
        try:
            return JSONResponse(await handle(body))
        except RequestError as exc:
            return error(exc.status, str(exc))
        except DataError as exc:
            return error(422, str(exc))
        except Exception as exc:  # this request fails alone: the server answers the next
            return error(500, f"scoring failed: {type(exc).__name__}: {exc}")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": artifact.manifest.get("model"), "backend": settings.backend}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        out = service.metadata()
        batcher = getattr(service, "batcher", None)
        if batcher is not None:
            out["batches"] = {"batches": batcher.batches, "requests": batcher.requests}
        return out

    if isinstance(service, RankingService):

        async def ranked(body: Any) -> dict[str, Any]:
            return {"scores": [float(s) for s in await service.rank(body)]}

        @app.post("/rank")
        async def rank(request: Request) -> JSONResponse:
            return await answer(request, ranked)

    else:

        @app.post("/recommend")
        async def recommend(request: Request) -> JSONResponse:
            return await answer(request, service.recommend)

    return app


def serve(artifact: Artifact, settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the server until interrupted (uvicorn, one process: the model is loaded once)."""
    import uvicorn

    uvicorn.run(create_app(artifact, settings), host=host, port=port, log_level="warning", access_log=False)
