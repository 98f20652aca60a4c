"""Errors raised by the library. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NlpfindError(Exception):
    """Base class: a problem a user can fix, described in one line."""


class InputError(NlpfindError):
    """A report or input file cannot be read or understood."""


class ConfigError(NlpfindError):
    """A configuration file is invalid."""


class ModelError(NlpfindError):
    """A model directory is missing, damaged, or incompatible."""


class CorpusError(NlpfindError):
    """A labelled corpus file is invalid."""


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """Return ' Did you mean "x"?' for the closest option, or an empty string."""
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""
