"""Load test of a served ad click model on loopback: requests/s and p50/p95/p99 latency per backend, with and
without micro-batching, at several concurrencies; p99 against the case's latency budget.

    python run.py case=ad_click model=dcn hydra.run.dir=/tmp/ctr_run        # a trained run
    mlsd export run_dir=/tmp/ctr_run                                          # its serving artefact
    python scripts/load_test.py --run-dir /tmp/ctr_run [--backends onnx export torch] [--batching off on]
        [--concurrency 1 8 32 64] [--candidates 100] [--seconds 10] [--requests 5000] [--out load_test]
    python scripts/load_test.py --run-dir /tmp/ctr_run --servers fastapi litserve --backends onnx  # the pick

The server is `mlsd serve` (FastAPI on uvicorn, one process) started per (server, backend, batching) and
pinned to core 0; this client is pinned to the other cores (os.sched_setaffinity; on a 2-core machine server
and client each get one core). The client is a small asyncio loop writing prebuilt HTTP/1.1 requests on
keep-alive connections (one per concurrent user): a closed loop of C users, each sending its next request
when the last answered, for --seconds or --requests per cell, whichever ends first, after 2 s of warm-up.
Why not locust / wrk / httpx: the client must not be the bottleneck on one core, and locust's Python users
and httpx both cost far more client CPU per request (httpx took ~90 % of the client's core at 64 users
here); wrk needs a Lua script for JSON bodies and reports no per-request latencies to take percentiles of.
Every latency is kept, so the percentiles are exact.

A request is one user context + N candidate ads (--candidates) with the run's raw columns, drawn from the
run's own dataset config (its embedded generator or file): the same traffic for every cell. The budget is
the case card's `latency_budget_ms` (50 ms for ad click). Writes <out>/report.md, <out>/results.json and
<out>/latency_vs_throughput.png; prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARMUP_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_bodies(run_dir: Path, candidates: int, count: int, seed: int = 0) -> list[bytes]:
    """`count` JSON bodies of `candidates` raw rows each from the run's dataset (context: the first row's
    numeric fields, the user side; candidates: the categorical fields of each row)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(run_dir / "config_resolved.yaml")
    node = OmegaConf.to_container(cfg.dataset, resolve=True)
    keep = {k: node[k] for k in ("_target_", "n_rows", "seed", "path", "days") if k in node}
    table = instantiate({**keep, "max_rows": candidates * count} if "n_rows" in keep else node)
    frame = table.frame
    rows = frame.select([*table.categorical, *table.numeric]).to_dicts()
    rng = np.random.default_rng(seed)
    bodies = []
    for _ in range(count):
        pick = rng.choice(len(rows), candidates, replace=False)
        first = rows[pick[0]]
        context = {c: first[c] for c in table.numeric}
        cands = [{c: rows[i][c] for c in table.categorical} for i in pick]
        bodies.append(json.dumps({"context": context, "candidates": cands}).encode())
    return bodies


def start_server(
    server: str, artifact: Path, backend: str, batching: bool, port: int, cores: set[int]
) -> subprocess.Popen:
    if server == "fastapi":
        cmd = [
            sys.executable,
            "-c",
            "from framework.cli import main; main()",
            "serve",
            f"artifact={artifact}",
            f"backend={backend}",
        ]
        cmd += [f"batching={str(batching).lower()}", f"port={port}", "threads=1"]
    else:
        cmd = [sys.executable, __file__, "--litserve", str(artifact), backend, str(batching), str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(  # its own process group: LitServe's inference workers stop with it
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _pin(cores),
        start_new_session=True,
    )
    deadline = time.time() + 60
    import httpx

    while time.time() < deadline:
        if proc.poll() is not None:
            stop_server(proc)
            raise SystemExit(f"{server} server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"{server} server did not answer /health within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not gone after 10 s (no server outlives us)."""
    import signal

    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _pin(cores: set[int]) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


def split_cores() -> tuple[set[int], set[int]]:
    """(the server's cores, the client's): the first core for the server, the others for the client; both
    get every core on a one-core machine."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        return set(cores), set(cores)
    return {cores[0]}, set(cores[1:])


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: write a prebuilt request, read the status and
    the Content-Length body. Far lighter per request than a general client (httpx spent most of a core
    at 64 users here), so the client is not what the test measures."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer, self.reader = None, None


def http_requests(bodies: list[bytes]) -> list[bytes]:
    head = "POST /rank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n"
    return [head.format(len(body)).encode() + body for body in bodies]


async def closed_loop(port: int, bodies: list[bytes], users: int, seconds: float, limit: int) -> dict:
    """`users` concurrent users, one connection each, sending requests back to back; every latency kept."""
    requests = http_requests(bodies)
    latencies: list[float] = []
    errors = 0
    failures: dict[str, int] = {}  # dropped connections by error type (warm-up included); the user reconnects

    async def user(index: int, connection: Connection, until: float, record: bool) -> None:
        nonlocal errors
        i = index
        while time.perf_counter() < until and (not record or len(latencies) < limit):
            start = time.perf_counter()
            try:
                ok = await connection.post(requests[i % len(requests)]) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                ok = False
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                await connection.close()
            elapsed = time.perf_counter() - start
            i += users
            if not record:
                continue
            if ok:
                latencies.append(elapsed)
            else:
                errors += 1

    connections = [Connection(port) for _ in range(users)]
    await asyncio.gather(*(user(u, connections[u], time.perf_counter() + WARMUP_S, False) for u in range(users)))
    start = time.perf_counter()
    await asyncio.gather(*(user(u, connections[u], start + seconds, True) for u in range(users)))
    wall = time.perf_counter() - start
    for connection in connections:
        await connection.close()
    ms = np.array(latencies) * 1000
    return {
        "users": users,
        "requests": len(ms),
        "errors": errors,
        "transport_errors": failures,
        "seconds": wall,
        "rps": len(ms) / wall,
        **{f"p{q}_ms": float(np.percentile(ms, q)) if len(ms) else float("nan") for q in (50, 95, 99)},
    }


try:  # the other server, for the pick (pip install -e '.[bench]'); its API class must be importable by name
    import litserve as ls
except ImportError:
    ls = None

if ls is not None:

    class LitRankAPI(ls.LitAPI):
        """The same artefact, checks and scoring behind LitServe; its dynamic batching when batching is on."""

        def __init__(self, artifact: str, backend: str, batching: bool) -> None:
            super().__init__(max_batch_size=64 if batching else 1, batch_timeout=0.002 if batching else 0.0)
            self.artifact_path, self.backend = artifact, backend

        def setup(self, device: str) -> None:
            from framework.deployment.http import RankingService, ServeSettings
            from framework.serving.artifact import read_artifact

            # mlsd serve's own request path (checks, JSON -> arrays, the scorer): only the server differs
            settings = ServeSettings(backend=self.backend, threads=1)
            self.service = RankingService(read_artifact(self.artifact_path), settings)

        def decode_request(self, request: dict):
            return self.service.request_rows(request)

        def batch(self, rows: list) -> list:
            return rows

        def predict(self, x):  # one request's rows, or a list of them when batching
            from framework.serving.encode import EncodedRows

            parts = x if isinstance(x, list) else [x]
            scores = self.service.scorer.score(EncodedRows.concat(parts))
            out = np.split(scores, EncodedRows.offsets(parts))
            return out if isinstance(x, list) else out[0]

        def unbatch(self, output: list) -> list:
            return output

        def encode_response(self, output: np.ndarray) -> dict:
            return {"scores": output.tolist()}


def litserve_main(artifact: str, backend: str, batching: str, port: str) -> None:
    if ls is None:
        raise SystemExit("litserve is the compared server of --servers litserve: pip install -e '.[bench]'")
    api = LitRankAPI(artifact, backend, batching == "True")
    api.api_path = "/rank"
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, healthcheck_path="/health")
    server.run(port=int(port), host="127.0.0.1", generate_client_file=False)


def plot(results: list[dict], budget: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in dict.fromkeys(r["config"] for r in results):
        cells = [r for r in results if r["config"] == key]
        ax.plot([c["rps"] for c in cells], [c["p99_ms"] for c in cells], marker="o", label=key)
        for c in cells:
            ax.annotate(str(c["users"]), (c["rps"], c["p99_ms"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if budget:
        ax.axhline(budget, color="red", linestyle="--", linewidth=1, label=f"budget {budget:g} ms")
    ax.set_xlabel("throughput (requests/s)")
    ax.set_ylabel("p99 latency (ms)")
    ax.set_yscale("log")
    ax.set_title("p99 latency against throughput (labels: concurrent users)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--litserve":
        litserve_main(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, type=Path, help="a finished ad click run (exported if needed)")
    parser.add_argument("--servers", nargs="+", default=["fastapi"], choices=["fastapi", "litserve"])
    parser.add_argument("--backends", nargs="+", default=["onnx", "export", "torch"])
    parser.add_argument("--batching", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8, 32, 64])
    parser.add_argument("--candidates", type=int, default=100, help="candidate ads per request")
    parser.add_argument("--seconds", type=float, default=10.0, help="per cell, after the warm-up")
    parser.add_argument("--requests", type=int, default=5000, help="per cell at most")
    parser.add_argument("--out", type=Path, default=Path("load_test"))
    args = parser.parse_args()

    from omegaconf import OmegaConf

    from framework.deployment.export import export_run
    from framework.serving.artifact import MANIFEST, default_artifact_dir

    artifact = default_artifact_dir(args.run_dir)
    if not (artifact / MANIFEST).is_file():
        export_run(str(args.run_dir))
    budget = OmegaConf.load(args.run_dir / "config_resolved.yaml").case.design.get("latency_budget_ms")
    bodies = request_bodies(args.run_dir, args.candidates, 200)
    server_cores, client_cores = split_cores()
    _pin(client_cores)
    results = []
    for server in args.servers:
        for backend in args.backends:
            for batching in args.batching:
                port = free_port()
                proc = start_server(server, artifact, backend, batching == "on", port, server_cores)
                try:
                    for users in args.concurrency:
                        cell = asyncio.run(closed_loop(port, bodies, users, args.seconds, args.requests))
                        cell |= {"server": server, "backend": backend, "batching": batching}
                        cell["config"] = f"{server} {backend} batching {batching}"
                        results.append(cell)
                        print(
                            f"{cell['config']:<32} users {users:>3}: {cell['rps']:7.1f} req/s"
                            f"  p50 {cell['p50_ms']:6.2f}  p95 {cell['p95_ms']:6.2f}  p99 {cell['p99_ms']:6.2f} ms"
                            f"  errors {cell['errors']}",
                            flush=True,
                        )
                finally:
                    stop_server(proc)
    report(results, budget, args)


def report(results: list[dict], budget: float | None, args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Load test: {args.candidates} candidates per request, {args.seconds:g} s or {args.requests} requests per "
        f"cell after {WARMUP_S:g} s warm-up; budget p99 ≤ {budget} ms.\n",
        "| server | backend | batching | users | req/s | p50 ms | p95 ms | p99 ms | errors | p99 within budget |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = "yes" if budget and r["p99_ms"] <= budget else "no"
        lines.append(
            f"| {r['server']} | {r['backend']} | {r['batching']} | {r['users']} | {r['rps']:.1f} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {ok} |"
        )
    lines.append("\nHighest load meeting the budget (requests/s at the largest concurrency whose p99 is within it):\n")
    for key in dict.fromkeys(r["config"] for r in results):
        within = [r for r in results if r["config"] == key and budget and r["p99_ms"] <= budget]
        best = max(within, key=lambda r: r["rps"], default=None)
        said = f"{best['rps']:.1f} req/s at {best['users']} users" if best else "none of the loads tried"
        lines.append(f"- {key}: {said}")
    text = "\n".join(lines) + "\n"
    (args.out / "report.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps({"budget_ms": budget, "results": results}, indent=1))
    plot(results, budget, args.out / "latency_vs_throughput.png")
    print("\n" + text + f"\nwritten: {args.out}/report.md, results.json, latency_vs_throughput.png")


if __name__ == "__main__":
    main()
