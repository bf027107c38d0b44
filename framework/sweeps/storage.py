"""Where a study lives: SQLite under the study directory by default, any SQLAlchemy URL (PostgreSQL)
for distributed sweeps; every storage call retried with back-off when the database connection is lost.

Optuna's RDB storage gives up on the first lost connection, which ends a worker that has trained
for an hour. `RetryingStorage` wraps it: a call that fails because the server went away (restart,
network cut, SQLite lock held by another worker) waits 1, 2, 4, ... seconds and tries again.
The heartbeat (the RDB storage records one per running trial every `heartbeat_interval` seconds)
goes through the same wrapper, so a short outage does not let other workers declare the trial dead.
Ctrl-C never cuts a storage call in half: it is held until the call returns (a transaction abandoned
half-way keeps SQLite's write lock, and the worker's next write, recording the trial as failed, would
wait on its own lock).
"""

from __future__ import annotations

import abc
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage, RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat

# Every public method of a storage (and its heartbeat): the wrapper retries each of them.
_METHODS = [
    name
    for name in sorted({*BaseStorage.__dict__, *BaseHeartbeat.__dict__})
    if callable(getattr(BaseStorage, name, None) or getattr(BaseHeartbeat, name, None))
    and (not name.startswith("_") or name == "_get_stale_trial_ids")
]


def default_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"


def with_driver(url: str) -> str:
    """`postgresql://...` with the driver mlsd installs (psycopg2): SQLAlchemy 2.1 would pick psycopg 3."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def display_url(url: str) -> str:
    """The URL without its password, for messages and summaries."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database could not be reached or the link broke."""
    from sqlalchemy import exc as sa

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def is_schema_race(exc: BaseException) -> bool:
    """Two workers creating Optuna's tables in an empty database at once: the slower one fails with
    'already exists'; its next attempt finds the tables made."""
    from sqlalchemy import exc as sa

    text = str(exc)
    return isinstance(exc, sa.IntegrityError | sa.ProgrammingError) and (
        "already exists" in text or "duplicate" in text
    )


@contextmanager
def interrupt_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) pressed inside the block is raised when the block ends, not in the middle of it.
    Only the main thread receives signals; elsewhere, and when SIGINT is ignored or default, a no-op."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(handler):
        yield
        return
    pressed: list[Any] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if pressed:
            handler(signal.SIGINT, pressed[0])


def with_retries(
    fn: Callable[[], Any],
    what: str,
    retries: int,
    backoff_s: float,
    log: Callable[[str], None],
    retryable: Callable[[BaseException], bool] = is_connection_error,
) -> tuple[Any, int]:
    """fn(), retried after backoff_s, 2*backoff_s, ... (capped at 30 s, with jitter so that workers do
    not retry in step) while it fails with a connection error. Returns (result, retries it took)."""
    for attempt in range(retries + 1):
        try:
            with interrupt_held():  # the wait below stays interruptible
                return fn(), attempt
        except Exception as exc:
            if attempt == retries or not retryable(exc):
                raise
            wait = min(30.0, backoff_s * 2**attempt) * random.uniform(0.8, 1.2)
            cause = str(exc.__cause__ or exc).strip().splitlines()[0][:200]
            problem = "another worker is creating the tables" if is_schema_race(exc) else "database connection lost"
            log(f"{problem} in {what} ({cause}); retry {attempt + 1} of {retries} in {wait:.1f}s")
            time.sleep(wait)
    raise AssertionError("unreachable")


class RetryingStorage(BaseStorage, BaseHeartbeat):
    """Delegates every storage call to `inner`, through `with_retries`."""

    def __init__(self, inner: BaseStorage, retries: int, backoff_s: float, log: Callable[[str], None]) -> None:
        self.inner = inner
        self.retries = retries
        self.backoff_s = backoff_s
        self.log = log
        self.retried_calls = 0  # calls that needed at least one retry (reported at the end of the sweep)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.inner, name)
        result, attempts = with_retries(lambda: method(*args, **kwargs), name, self.retries, self.backoff_s, self.log)
        self.retried_calls += attempts > 0
        return result


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: RetryingStorage, *args: Any, **kwargs: Any) -> Any:
        return self.call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(RetryingStorage, _name, _delegate(_name))
abc.update_abstractmethods(RetryingStorage)


def open_storage(
    url: str,
    heartbeat_interval: int,
    grace_period: int | None,
    retries: int,
    backoff_s: float,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> RetryingStorage:
    """Optuna's RDB storage (cached, as `optuna.create_study` would make it) behind the retrying wrapper.
    Connecting (and creating the tables) is retried the same way."""
    url = with_driver(url)
    sqlite = url.startswith("sqlite")
    # SQLite: wait for a lock held by another local worker instead of failing at once.
    # Servers: test a pooled connection before use, so one dropped by a restart is replaced quietly.
    engine_kwargs = {"connect_args": {"timeout": 60}} if sqlite else {"pool_pre_ping": True}
    if sqlite:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    def connect() -> BaseStorage:
        rdb = RDBStorage(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval, grace_period=grace_period
        )
        return _CachedStorage(rdb)

    retryable = lambda exc: is_connection_error(exc) or is_schema_race(exc)  # noqa: E731
    inner, _ = with_retries(connect, "connect", retries, backoff_s, log, retryable)
    return RetryingStorage(inner, retries, backoff_s, log)
