"""trigger_codec: the near-ultrasonic trigger codec (pure numpy/scipy DSP core, no I/O).

Public API (see docs/CONTRACTS.md and trigger_codec/README.md for the design)::

    wave = encode(channel=7, seq=123456, sample_rate=48000, profile="hf")
    dec = Decoder(sample_rate=44100); dets = dec.feed(block) + dec.flush()
    mixer = TriggerMixer(sample_rate=48000, profile="hf", channels=1)
    MAX_CHANNEL, MAX_SEQ, PROFILE_NAMES      # the ID space and profile names (trigger_codec.ids)

Exceptions::

    CodecError -> ParameterError | AudioFormatError
"""

from __future__ import annotations

from trigger_codec.decoder import Decoder, Detection
from trigger_codec.encoder import encode
from trigger_codec.errors import AudioFormatError, CodecError, ParameterError
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ, PROFILE_NAMES, SEQ_MODULUS, ProfileName
from trigger_codec.mixer import TriggerMixer
from trigger_codec.profiles import PROFILES, Profile, airtime_s

__all__ = [
    "MAX_CHANNEL",
    "MAX_SEQ",
    "PROFILES",
    "PROFILE_NAMES",
    "SEQ_MODULUS",
    "AudioFormatError",
    "CodecError",
    "Decoder",
    "Detection",
    "ParameterError",
    "Profile",
    "ProfileName",
    "TriggerMixer",
    "airtime_s",
    "encode",
]
