"""The models package's exception tree (drawn in :mod:`models`)."""

from __future__ import annotations

__all__ = [
    "ChecksumMismatchError",
    "ModelError",
    "ModelInstallError",
    "ModelInvalidError",
    "ModelNotFoundError",
    "ModelOverlayError",
]


class ModelError(ValueError):
    """Any problem with a speech model."""


class ModelNotFoundError(ModelError):
    """No model where one was expected."""


class ModelInvalidError(ModelError):
    """A directory that is not a usable vosk model."""


class ModelInstallError(ModelError):
    """Installing a model failed; nothing was left half-installed."""


class ChecksumMismatchError(ModelInstallError):
    """The downloaded or given archive does not have the expected SHA-256."""


class ModelOverlayError(ModelError):
    """A model overlay (changed endpoint rules) cannot be made (bad value, unwritable dir)."""
