"""Errors of :mod:`audio_io`.

Exception tree::

    AudioIOError
    ├── AudioFileError     a file (or stdin stream) is missing, empty, truncated or not audio
    └── AudioDeviceError   a sound device cannot be opened or stopped delivering audio
        └── AudioDeviceNotFound   no device has that index or name (a typo, not a fault)

Third-party errors (``soundfile.LibsndfileError``, ``av.FFmpegError``, ``OSError``) are mapped
into this tree where :mod:`audio_io` calls them.
"""

from __future__ import annotations

__all__ = ["AudioDeviceError", "AudioDeviceNotFound", "AudioFileError", "AudioIOError"]


class AudioIOError(Exception):
    """Base class of every error raised by :mod:`audio_io`."""


class AudioFileError(AudioIOError):
    """An audio file cannot be read or written (message says which file, why, what to do)."""


class AudioDeviceError(AudioIOError):
    """A sound device cannot be opened or stopped delivering audio."""


class AudioDeviceNotFound(AudioDeviceError):
    """No sound device has the index or name asked for (retrying will not make one appear)."""
