"""The broadcaster's exception tree (drawn in :mod:`broadcaster`)."""

from __future__ import annotations

__all__ = [
    "BroadcasterError",
    "ConfigError",
    "DeviceError",
    "DeviceNotFound",
    "InputFormatError",
    "ModelLoadError",
    "RecognizerError",
    "StateError",
]


class BroadcasterError(Exception):
    """Any error the broadcaster reports to the operator."""


class ConfigError(BroadcasterError, ValueError):
    """A setting or command-line value is invalid."""


class ModelLoadError(BroadcasterError):
    """The speech model is missing or cannot be loaded."""


class RecognizerError(BroadcasterError):
    """vosk failed while recognising (its bare ``Exception`` mapped here)."""


class InputFormatError(BroadcasterError, ValueError):
    """The programme audio cannot be used (rate, channels, empty, unreadable)."""


class DeviceError(BroadcasterError):
    """A sound device failed or disappeared."""


class DeviceNotFound(DeviceError):
    """No sound device has the index or name given (at start: a typo, reported at once)."""


class StateError(BroadcasterError):
    """The sequence counter or spool state file cannot be used."""
