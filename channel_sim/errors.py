"""Exceptions raised by channel_sim.

Tree::

    ChannelSimError
    ├── ChainConfigError      a stage or chain was configured with an impossible value
    ├── BroadcastCodecError   PyAV/ffmpeg failed to encode or decode (mapped from av.FFmpegError)
    └── ProgrammeError        programme material could not be made (e.g. espeak-ng missing/failed)
"""

from __future__ import annotations

__all__ = ["BroadcastCodecError", "ChainConfigError", "ChannelSimError", "ProgrammeError"]


class ChannelSimError(Exception):
    """Base class of every error raised by channel_sim."""


class ChainConfigError(ChannelSimError, ValueError):
    """A stage, chain or input has an impossible value (the message names it and the fix)."""


class BroadcastCodecError(ChannelSimError):
    """The broadcast codec round trip failed inside PyAV/ffmpeg."""


class ProgrammeError(ChannelSimError):
    """Programme material (speech, music, noise) could not be produced."""
