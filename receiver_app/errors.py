"""The receiver's exceptions.

::

    ReceiverError
    ├── SettingsError        a flag or setting is out of range (the value and the range are said)
    ├── AudioInputError      the input file / stdin cannot be read (maps audio_io.AudioFileError)
    ├── AudioDeviceError     the microphone cannot be opened or went away
    │                        (maps audio_io.AudioDeviceError / PortAudio errors)
    └── ArchiveUnavailable   the archive cannot be reached (maps archive_client.ArchiveUnavailable
                             and httpx/websockets transport errors); the app keeps listening

Third-party errors are mapped at the boundary where they are caught; the original is kept as
``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "ArchiveUnavailable",
    "AudioDeviceError",
    "AudioInputError",
    "ReceiverError",
    "SettingsError",
]


class ReceiverError(Exception):
    """Base of every error the receiver raises on purpose."""


class SettingsError(ReceiverError, ValueError):
    """A setting or command-line flag has a value the receiver cannot use."""


class AudioInputError(ReceiverError):
    """The input recording (file or stdin) cannot be read or decoded."""


class AudioDeviceError(ReceiverError):
    """The sound device cannot be opened, or stopped delivering audio."""


class ArchiveUnavailable(ReceiverError):
    """The archive server cannot be reached (the receiver retries with backoff)."""
