"""User-facing errors: bad configs and bad data stop a run with a short message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Something the user can fix (a config value, a data file). Printed without a traceback."""

    exit_code = 2
    title = "error"


class ConfigError(UserError):
    title = "config error"


class DataError(UserError):
    title = "data error"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' when a close spelling exists or exactly one choice starts with the word
    (case=video -> video_recommendation), else ''."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in choices if c.startswith(word)]
        close = close if len(close) == 1 else []
    return f" Did you mean '{close[0]}'?" if close else ""


def choices_text(choices: Iterable[str]) -> str:
    return ", ".join(sorted(choices)) or "(none)"
