"""A failed trial's stored traceback keeps its header, the innermost frames and the error, whatever the paths."""

from __future__ import annotations

import traceback

import pytest

from framework.sweeps.runner import bounded_traceback

# A made-up source file deep in a long checkout path: the traceback's size does not depend on where tests run.
LONG_PATH = "/" + "/".join(f"a_rather_long_directory_name_{i:02d}" for i in range(12)) + "/module.py"


def _deep_error(depth: int, path: str = LONG_PATH, message: str = "the innermost error") -> BaseException:
    """An exception raised `depth` distinct function calls deep, each frame in `path`."""
    source = "".join(f"def f{i}():\n    f{i + 1}()\n" for i in range(depth))
    source += f"def f{depth}():\n    raise ValueError({message!r})\n"
    namespace: dict = {}
    exec(compile(source, path, "exec"), namespace)
    try:
        namespace["f0"]()
    except ValueError as exc:
        return exc
    raise AssertionError("f0 did not raise")


def test_a_deep_traceback_with_long_paths_keeps_header_innermost_frame_and_error() -> None:
    exc = _deep_error(40)
    full = "".join(traceback.format_exception(exc))
    assert len(full) > 3 * 4000  # far over the limit

    text = bounded_traceback(exc, 4000)
    assert len(text) <= 4000
    assert text.startswith("Traceback (most recent call last):\n")
    assert text.endswith("ValueError: the innermost error\n")
    depth_frame = f'  File "{LONG_PATH}", line 82, in f40\n'  # where the error was raised
    assert depth_frame in text
    kept = text.count(f'File "{LONG_PATH}"')  # of 42: _deep_error, f0 ... f40
    assert kept > 1  # as many of the innermost frames as fit
    assert f"[{42 - kept} outer frames left out to fit 4000 characters]" in text
    assert text.endswith("".join(traceback.format_exception(exc)[-(kept + 1) :]))  # the innermost frames, verbatim


def test_a_short_traceback_is_kept_whole() -> None:
    exc = _deep_error(2, path="/short/module.py")
    assert bounded_traceback(exc, 4000) == "".join(traceback.format_exception(exc))


@pytest.mark.parametrize(
    ("path", "message"),
    [("/" + "x" * 6000 + "/module.py", "boom"), (LONG_PATH, "a huge message " * 1000)],
    ids=["one frame longer than the limit", "an error line longer than the limit"],
)
def test_oversized_pieces_are_shortened_not_dropped(path: str, message: str) -> None:
    text = bounded_traceback(_deep_error(3, path=path, message=message), 4000)
    assert len(text) <= 4000
    assert text.startswith("Traceback (most recent call last):\n")
    assert "in f3\n" in text and "ValueError: " in text and text.endswith("\n")


def test_chained_exceptions_are_mentioned_when_left_out() -> None:
    try:
        try:
            raise KeyError("the cause")
        except KeyError as cause:
            raise RuntimeError("the effect") from cause
    except RuntimeError as exc:
        text = bounded_traceback(exc, 300)
    assert len(text) <= 300 and text.startswith("Traceback (most recent call last):\n")
    assert "and the exceptions this one was raised from]" in text and text.endswith("RuntimeError: the effect\n")
