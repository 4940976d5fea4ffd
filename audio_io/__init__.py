"""audio_io: audio files and sound devices shared by the broadcaster, receiver and offline tools.

Files (:mod:`audio_io.files`)::

    data, sr = read_audio("programme.m4a")      # float32 (n, channels) in [-1, 1]
    write_audio("out.flac", data, sr)
    sr = audio_info("long.wav").sample_rate
    for block in iter_audio_blocks("long.wav", 4096): ...   # float32 (n, channels) blocks

Devices (:mod:`audio_io.devices`): ``InputStream``, ``OutputStream``, ``list_devices``.

Exceptions::

    AudioIOError
    ├── AudioFileError
    └── AudioDeviceError
        └── AudioDeviceNotFound
"""

from __future__ import annotations

from audio_io.devices import DeviceInfo, InputStream, OutputStream, list_devices
from audio_io.errors import AudioDeviceError, AudioDeviceNotFound, AudioFileError, AudioIOError
from audio_io.files import (
    AudioInfo,
    audio_info,
    iter_audio_blocks,
    mono,
    read_audio,
    write_audio,
)

__all__ = [
    "AudioDeviceError",
    "AudioDeviceNotFound",
    "AudioFileError",
    "AudioIOError",
    "AudioInfo",
    "DeviceInfo",
    "InputStream",
    "OutputStream",
    "audio_info",
    "iter_audio_blocks",
    "list_devices",
    "mono",
    "read_audio",
    "write_audio",
]
