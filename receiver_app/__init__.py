"""receiver_app: the viewer's app — hear triggers, fetch captions, show them (``jimaku receive``).

Modules: :mod:`~receiver_app.settings` (the one frozen settings object),
:mod:`~receiver_app.display` (pure display rules), :mod:`~receiver_app.source` (microphone, file,
stdin), :mod:`~receiver_app.fetcher` (archive GETs with cache and backoff),
:mod:`~receiver_app.live` (the archive's live WebSocket), :mod:`~receiver_app.app` (the event
loop), outputs in :mod:`~receiver_app.outputs`, :mod:`~receiver_app.tui` and
:mod:`~receiver_app.web`. See docs/receiver.md.

Exceptions::

    ReceiverError
    ├── SettingsError
    ├── AudioInputError      (from audio_io.AudioFileError)
    ├── AudioDeviceError     (from audio_io.AudioDeviceError / PortAudio)
    └── ArchiveUnavailable   (from archive_client.ArchiveUnavailable)
"""

from __future__ import annotations

from receiver_app.display import CaptionDisplay, CaptionItem, wrap_caption
from receiver_app.errors import (
    ArchiveUnavailable,
    AudioDeviceError,
    AudioInputError,
    ReceiverError,
    SettingsError,
)
from receiver_app.settings import DisplayRules, ReceiverSettings

__all__ = [
    "ArchiveUnavailable",
    "AudioDeviceError",
    "AudioInputError",
    "CaptionDisplay",
    "CaptionItem",
    "DisplayRules",
    "ReceiverError",
    "ReceiverSettings",
    "SettingsError",
    "wrap_caption",
]
