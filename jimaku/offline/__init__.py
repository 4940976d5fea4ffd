"""jimaku.offline: the test engineer's tools - decode, encode and embed triggers in audio files.

Subcommands (registered by :mod:`jimaku.offline.cli`)::

    jimaku decode FILE... [--json] [--plot out.png] [--progress]
    jimaku encode --channel C --seq N [--profile hf|robust] [--sample-rate SR] -o trigger.wav
    jimaku embed programme.wav --at TIME:CHANNEL:SEQ ... [--profile P] [--json] -o out.wav

Python API::

    from jimaku.offline import decode_file, encode_file, embed_file, parse_at
    result = decode_file("recording.m4a")        # DecodeResult: detections, sample rate, length

Exceptions::

    OfflineError               (base; the CLI prints its message and exits with status 2)
    +-- InputError             an input file is missing, empty, not audio, has an unusable
    |                          sample rate or holds NaN/inf samples
    +-- ArgumentError          a bad command-line value (--at syntax, channel/seq range, ...)

:class:`audio_io.AudioFileError` and :class:`trigger_codec.CodecError` are mapped into this tree
at the boundary (the message keeps the file name and the original reason).
"""

from __future__ import annotations

from jimaku.offline.decode import DecodeResult, decode_file
from jimaku.offline.embed import Placement, embed_file, parse_at
from jimaku.offline.errors import ArgumentError, InputError, OfflineError
from jimaku.offline.settings import OfflineSettings
from jimaku.offline.synth import encode_file

__all__ = [
    "ArgumentError",
    "DecodeResult",
    "InputError",
    "OfflineError",
    "OfflineSettings",
    "Placement",
    "decode_file",
    "embed_file",
    "encode_file",
    "parse_at",
]
