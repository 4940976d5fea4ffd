"""Exceptions of :mod:`trigger_codec`.

The tree::

    CodecError                 (base: catch this to catch everything the codec raises)
    +-- ParameterError         a bad argument: channel/seq out of range, unknown profile,
    |                          sample rate too low for a profile's band, bad schedule time
    +-- AudioFormatError       audio of the wrong shape/dtype, or containing NaN/inf

Third-party errors (numpy casting errors) never escape: input conversion errors are mapped to
:class:`AudioFormatError`; a candidate that fails the CRC or the re-encoding check is simply "no
trigger here".
"""

from __future__ import annotations

__all__ = ["AudioFormatError", "CodecError", "ParameterError"]


class CodecError(Exception):
    """Base class of every error raised by :mod:`trigger_codec`."""


class ParameterError(CodecError, ValueError):
    """An argument is out of range or inconsistent (the message says which and what to do)."""


class AudioFormatError(CodecError, ValueError):
    """Audio input has the wrong shape or dtype, or holds non-finite samples."""
