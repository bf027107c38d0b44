"""Distributed sweeps on a real PostgreSQL server: worker processes sharing one study, and a worker
that loses its database connection for a few seconds. `.ci/run` starts the server and sets
MLSD_TEST_POSTGRES_URL (`eval "$(.ci/postgres.sh start)"` does the same by hand)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from sqlalchemy.engine import make_url

from framework.sweeps.storage import with_driver
from tests.conftest import ROOT, read_run
from tests.sweeps.helpers import TINY, summary, write_sweep

RAW_URL = os.environ.get("MLSD_TEST_POSTGRES_URL")
URL = with_driver(RAW_URL) if RAW_URL else None  # for reading the study from the test
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not RAW_URL,
        reason='MLSD_TEST_POSTGRES_URL is not set: start a server with eval "$(.ci/postgres.sh start)" (.ci/run does)',
    ),
]


@pytest.fixture
def study_name() -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=name, storage=URL)


def _worker(config_dir: Path, study: str, storage: str, *extra: str) -> subprocess.Popen:
    args = ["-m", "--config-dir", str(config_dir), "sweep=pg", "model=lr", f"sweep.dir={config_dir / 'study'}"]
    args += [f"sweep.study_name={study}", f"sweep.storage={storage}", "sweep.plots=false", *TINY, *extra]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_workers_share_one_study(tmp_path: Path, study_name: str) -> None:
    write_sweep(tmp_path, "pg", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    workers = [_worker(tmp_path, study_name, RAW_URL, "sweep.n_trials=6", "sweep.pruner.name=none") for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]

    trials = optuna.load_study(study_name=study_name, storage=URL).trials
    numbers = sorted(t.number for t in trials)
    # Every trial number once, none lost. Two workers that check the budget in the same instant may
    # each start a last trial: the documented overshoot is at most workers - 1.
    assert numbers == list(range(len(trials))) and 6 <= len(trials) <= 7
    assert all(t.state.name == "COMPLETE" for t in trials), [
        (t.number, t.state.name, t.user_attrs.get("error")) for t in trials
    ]
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both workers did part of the work
    run_dirs = {t.user_attrs["run_dir"] for t in trials}
    assert len(run_dirs) == len(trials)  # no trial wrote into another's directory
    for trial in trials:
        record = read_run(trial.user_attrs["run_dir"])
        assert record["status"] == "finished" and record["sweep"]["trial"] == trial.number
        assert record["objective"]["value"] == trial.value
    assert "storage postgresql://postgres@" in outputs[0]


class FlakyProxy:
    """A TCP relay to the database that can cut every connection and refuse new ones for a while:
    a real network outage between one worker and a real server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()  # the server "is down"
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.listener.close()
        self.cut()


def test_a_worker_that_loses_the_database_retries_and_finishes(tmp_path: Path, study_name: str) -> None:
    url = make_url(URL)
    proxy = FlakyProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        write_sweep(tmp_path, "pg", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
        worker = _worker(
            tmp_path,
            study_name,
            through_proxy,
            "sweep.n_trials=3",
            "sweep.heartbeat_interval=1",
            "sweep.grace_period=30",
            "sweep.db_backoff_s=0.5",
            "trainer.max_epochs=15",
            "early_stopping=null",
        )
        deadline = time.monotonic() + 180
        while True:  # wait until the worker trains its second trial, then take the database away for 4 s
            with contextlib.suppress(KeyError):
                running = optuna.load_study(study_name=study_name, storage=URL).get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
                )
                if any(t.number == 1 for t in running):
                    break
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never reached trial 1"
            time.sleep(0.3)
        proxy.cut()
        time.sleep(4)
        proxy.restore()
        output = worker.communicate(timeout=300)[0]
    finally:
        proxy.close()
    assert worker.returncode == 0, output[-4000:]
    assert "database connection lost" in output and "retry 1 of 8" in output
    trials = optuna.load_study(study_name=study_name, storage=URL).trials
    assert [(t.number, t.state.name) for t in trials] == [(0, "COMPLETE"), (1, "COMPLETE"), (2, "COMPLETE")]
    assert summary(tmp_path / "study")["database_retries"] >= 1
