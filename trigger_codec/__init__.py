"""trigger_codec: the near-ultrasonic trigger codec (pure numpy/scipy DSP core, no I/O).

Public API (see docs/CONTRACTS.md and trigger_codec/README.md for the design)::

    wave = encode(channel=7, seq=123456, sample_rate=48000, profile="hf")
    dec = Decoder(sample_rate=44100); dets = dec.feed(block) + dec.flush()
    mixer = TriggerMixer(sample_rate=48000, profile="hf", channels=1)

Exceptions::

    CodecError -> ParameterError | AudioFormatError
"""

from __future__ import annotations

from trigger_codec.decoder import Decoder, Detection
from trigger_codec.encoder import encode
from trigger_codec.errors import AudioFormatError, CodecError, ParameterError
from trigger_codec.mixer import TriggerMixer
from trigger_codec.profiles import PROFILES, Profile, airtime_s

__all__ = [
    "PROFILES",
    "AudioFormatError",
    "CodecError",
    "Decoder",
    "Detection",
    "ParameterError",
    "Profile",
    "TriggerMixer",
    "airtime_s",
    "encode",
]
