"""broadcaster: the station daemon (speech -> captions -> archive, trigger IDs -> programme).

See docs/broadcaster.md. Public pieces::

    Broadcaster      the engine (process programme blocks, recognise, upload, mix triggers)
    BroadcastSettings / load_settings
    Recognizer, Partial, Final, Word   the vosk adapter and its typed events
    Segmenter, Caption                 caption size rule
    SeqStore, Spool                    durable sequence counter and upload spool

Exception tree::

    BroadcasterError
    ├── ConfigError          bad setting / option value (also a ValueError)
    ├── ModelLoadError       model missing or unloadable (vosk's bare Exception mapped)
    ├── RecognizerError      vosk failed while recognising
    ├── InputFormatError     unusable programme audio: rate, empty, unreadable (also a ValueError)
    ├── DeviceError          a sound device failed or vanished (audio_io.AudioDeviceError mapped)
    └── StateError           sequence/spool state file unusable (sqlite3.Error mapped)

archive_client errors never escape: the uploader turns them into spooled/failed upload states.
"""

from __future__ import annotations

from broadcaster.errors import (
    BroadcasterError,
    ConfigError,
    DeviceError,
    InputFormatError,
    ModelLoadError,
    RecognizerError,
    StateError,
)
from broadcaster.settings import BroadcastSettings, load_settings

__all__ = [
    "BroadcastSettings",
    "BroadcasterError",
    "ConfigError",
    "DeviceError",
    "InputFormatError",
    "ModelLoadError",
    "RecognizerError",
    "StateError",
    "load_settings",
]
