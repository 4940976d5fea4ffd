"""Exceptions of :mod:`jimaku.offline`.

The tree::

    OfflineError
    +-- InputError       an input file is unusable (missing, empty, not audio, sample rate too
    |                    low for every trigger band, NaN/inf samples)
    +-- ArgumentError    a bad command-line value (``--at`` syntax, channel/seq out of range,
                         unknown profile, output suffix)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ArgumentError", "InputError", "OfflineError"]


class OfflineError(Exception):
    """Base class of every error raised by :mod:`jimaku.offline`."""


class InputError(OfflineError):
    """An input audio file cannot be used (the message names the file, the reason and a fix).

    Parameters
    ----------
    message : str
        What was wrong, with the file name.
    partial : list, optional
        Whatever was decoded before the problem was met (e.g. detections before a NaN sample),
        so that a caller can still report it.
    """

    def __init__(self, message: str, partial: list[Any] | None = None) -> None:
        super().__init__(message)
        self.partial: list[Any] = list(partial or [])


class ArgumentError(OfflineError, ValueError):
    """A bad argument value (the message gives the value and what is accepted)."""
