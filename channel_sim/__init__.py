"""channel_sim: an acoustic channel simulator for trigger watermarks (tests, benchmarks, demo).

Models the way from the broadcaster's programme audio to a phone microphone: broadcast codec
round trip (AAC/MP3 via PyAV, in memory), TV-speaker roll-off, room reverberation
(pyroomacoustics, cached RIRs), ambient noise at an in-band SNR, microphone resampling with clock
offset, AGC-like gain changes and 16-bit quantisation; plus programme material (espeak-ng speech,
synthetic music with hi-hats and cymbals, silence, noise).

Usage::

    import numpy as np
    from channel_sim import PRESETS, Chain, apply_chain, BroadcastCodec, Room, Noise, Mic
    rng = np.random.default_rng(0)
    out, sr_out = apply_chain(mix, 48000, PRESETS["living-room"], rng, reference=trigger_only)
    chain = Chain((BroadcastCodec("aac", 128), Room(0.5, 3.0), Noise("babble", snr_db=0.0),
                   Mic(44100, clock_ppm=100)))

Exceptions::

    ChannelSimError
    ├── ChainConfigError      bad stage/chain/input values (also a ValueError)
    ├── BroadcastCodecError   ffmpeg failed (mapped from av.FFmpegError)
    └── ProgrammeError        espeak-ng missing or failed

Not for production code: only tests, benchmarks and the demo may import it.
"""

from __future__ import annotations

from channel_sim.chain import (
    PRESETS,
    Agc,
    BroadcastCodec,
    Chain,
    ChainResult,
    Mic,
    Noise,
    Quantise,
    Room,
    Speaker,
    Stage,
    apply_chain,
    apply_chain_detailed,
)
from channel_sim.codec import codec_round_trip
from channel_sim.errors import (
    BroadcastCodecError,
    ChainConfigError,
    ChannelSimError,
    ProgrammeError,
)
from channel_sim.mic import agc, mic_resample, quantise
from channel_sim.noise import band_power, make_noise, occupied_band, pink_noise, white_noise
from channel_sim.programme import make_programme, synth_music, synth_speech
from channel_sim.room import apply_room, room_impulse_response
from channel_sim.speaker import speaker_rolloff

__all__ = [
    "PRESETS",
    "Agc",
    "BroadcastCodec",
    "BroadcastCodecError",
    "Chain",
    "ChainConfigError",
    "ChainResult",
    "ChannelSimError",
    "Mic",
    "Noise",
    "ProgrammeError",
    "Quantise",
    "Room",
    "Speaker",
    "Stage",
    "agc",
    "apply_chain",
    "apply_chain_detailed",
    "apply_room",
    "band_power",
    "codec_round_trip",
    "make_noise",
    "make_programme",
    "mic_resample",
    "occupied_band",
    "pink_noise",
    "quantise",
    "room_impulse_response",
    "speaker_rolloff",
    "synth_music",
    "synth_speech",
    "white_noise",
]
