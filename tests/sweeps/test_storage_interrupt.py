"""Ctrl-C during a storage call is held until the call returns (a half-done SQLite transaction would
keep the write lock the worker then waits on to record its trial as failed)."""

import os
import signal
import threading

import pytest

from framework.sweeps.storage import interrupt_held, with_retries


def test_ctrl_c_inside_the_block_is_raised_after_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupt_held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("rest of the call")
    assert done == ["rest of the call"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back


def test_a_storage_call_finishes_before_ctrl_c_ends_the_worker() -> None:
    calls = []

    def call() -> str:
        os.kill(os.getpid(), signal.SIGINT)
        calls.append("committed")
        return "ok"

    with pytest.raises(KeyboardInterrupt):
        with_retries(call, "set_trial_user_attr", retries=2, backoff_s=0.01, log=print)
    assert calls == ["committed"]


def test_no_interrupt_means_no_change() -> None:
    with interrupt_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_other_threads_run_the_block_as_is() -> None:
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_in_block()))
    thread.start()
    thread.join()
    assert seen == ["ran"]


def _in_block() -> str:
    with interrupt_held():  # signal.signal would raise ValueError outside the main thread
        return "ran"
