"""Round-trip matrices: trigger_codec.encode -> channel_sim stages -> trigger_codec.Decoder.

A small grid (one condition at a time, plus whole chains) and the full sweep (rooms x codecs x SNRs
x clock offsets, 144 cells, ~1.5 min). Expected triggers come from how the stream was built (IDs,
positions, the chain's time scale), never from the decoder.

Every cell checks correctness: no wrong ID, no trigger twice, start times within 30 ms. Whether
every trigger must be *found* is asserted only where the product promises it per trigger (a
supported chain at +10 dB in-band SNR in the sweep); detection rates at lower SNR are statistics
of 200 triggers per cell, measured by ``benchmarks/bench_channel.py`` (docs/channel-bench.md),
not by a 5-trigger test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import trigger_codec
from channel_sim import (
    PRESETS,
    Agc,
    BroadcastCodec,
    Chain,
    Mic,
    Noise,
    Quantise,
    Room,
    Speaker,
    apply_chain_detailed,
    make_programme,
)
from channel_sim.room import SPEED_OF_SOUND_M_S

TRIGGER_DBFS = -26.0  # trigger RMS over its airtime; programme at about -20 dBFS RMS
START_TOL_S = 0.03


@dataclass(frozen=True)
class Sent:
    channel: int
    seq: int
    start_s: float  # at the transmitter


def _wave(channel: int, seq: int, sr: int, profile: str) -> np.ndarray:
    w = np.asarray(
        trigger_codec.encode(channel=channel, seq=seq, sample_rate=sr, profile=profile),
        dtype=np.float64,
    )
    active = np.abs(w) > 1e-4 * np.max(np.abs(w))
    w *= 10 ** (TRIGGER_DBFS / 20) / np.sqrt(np.mean(w[active] ** 2))
    return w.astype(np.float32)


def _stream(
    profile: str, sr: int, n: int, rng: np.random.Generator, programme: str = "speechlike"
) -> tuple[np.ndarray, np.ndarray, list[Sent]]:
    """Programme with ``n`` triggers at known positions; returns (mix, trigger-only, sent)."""
    waves, sent, pos = [], [], int(0.6 * sr)
    for _ in range(n):
        c, s = int(rng.integers(0, 4096)), int(rng.integers(0, 1 << 20))
        w = _wave(c, s, sr, profile)
        sent.append(Sent(c, s, pos / sr))
        waves.append((pos, w))
        pos += len(w) + int(rng.uniform(0.5, 0.9) * sr)
    total = pos + int(0.5 * sr)
    ref = np.zeros(total, dtype=np.float32)
    for p, w in waves:
        ref[p : p + len(w)] += w
    prog = make_programme(programme, total / sr, sr, rng)
    return np.clip(prog + ref, -1, 1).astype(np.float32), ref, sent


def _decode(audio: np.ndarray, sr: int, rng: np.random.Generator) -> list[trigger_codec.Detection]:
    dec = trigger_codec.Decoder(sample_rate=sr)
    dets: list[trigger_codec.Detection] = []
    i = 0
    while i < len(audio):  # random block sizes: results must not depend on the split
        b = int(rng.integers(1, 8192))
        dets += dec.feed(audio[i : i + b])
        i += b
    dets += dec.flush()
    return dets


def _check(
    dets: list[trigger_codec.Detection],
    sent: list[Sent],
    profile: str,
    time_scale: float,
    delay_s: float,
    must_find: bool,
) -> int:
    """No wrong IDs ever; each sent trigger at most once; all found if ``must_find``."""
    expected = {(t.channel, t.seq): (t.start_s + delay_s) * time_scale for t in sent}
    wrong = [d for d in dets if (d.channel, d.seq) not in expected]
    assert not wrong, f"wrong IDs decoded: {wrong}"
    keys = [(d.channel, d.seq) for d in dets]
    assert len(keys) == len(set(keys)), f"a trigger reported twice: {dets}"
    for d in dets:
        assert d.profile == profile
        assert abs(d.start_s - expected[(d.channel, d.seq)]) < START_TOL_S + 0.01 * time_scale
    if must_find:
        missing = set(expected) - set(keys)
        assert not missing, f"{len(missing)}/{len(sent)} not found: {sorted(missing)}"
    return len(set(keys))


# ------------------------------------------------------------------------------- small grid
#: condition -> (stages, profiles that must get through)
CONDITIONS: dict[str, tuple[tuple[object, ...], tuple[str, ...]]] = {
    "aac192": ((BroadcastCodec("aac", 192),), ("hf", "robust")),
    "aac256": ((BroadcastCodec("aac", 256),), ("hf", "robust")),
    # 128k AAC and MP3 cut above ~17.2 / ~16.6 kHz: hf cannot survive, robust must
    "aac128": ((BroadcastCodec("aac", 128),), ("robust",)),
    "mp3-128": ((BroadcastCodec("mp3", 128),), ("robust",)),
    "speaker": ((Speaker(),), ("hf", "robust")),
    "room-0.7s-4m": ((Room(0.7, 4.0, 2),), ("hf", "robust")),
    "pink-6dB": ((Noise("pink", 6.0),), ("hf", "robust")),
    "white-6dB": ((Noise("white", 6.0),), ("hf", "robust")),
    "mic44k+300ppm": ((Mic(44100, 300.0),), ("hf", "robust")),
    "mic44k-300ppm": ((Mic(44100, -300.0),), ("hf", "robust")),
    "agc40dB-quiet": ((Agc(40.0, 0.7, target_dbfs=-55.0), Quantise(16)), ("hf", "robust")),
}


@pytest.mark.parametrize(
    ("condition", "profile"),
    [(c, p) for c in sorted(CONDITIONS) for p in ("hf", "robust")],
)
def test_one_stage(condition: str, profile: str, rng: np.random.Generator) -> None:
    stages, must = CONDITIONS[condition]
    mix, ref, sent = _stream(profile, 48000, 3, rng)
    res = apply_chain_detailed(mix, 48000, Chain(stages), rng, reference=ref)  # type: ignore[arg-type]
    delay = sum(s.distance_m / SPEED_OF_SOUND_M_S for s in stages if isinstance(s, Room))
    dets = _decode(res.audio, res.sample_rate_hz, rng)
    _check(dets, sent, profile, res.time_scale, delay, must_find=profile in must)


@pytest.mark.parametrize(
    ("preset", "profile"),
    [("living-room", "hf"), ("kitchen", "robust"), ("radio-mp3", "robust")],
)
def test_whole_chain_at_6db(preset: str, profile: str, rng: np.random.Generator) -> None:
    chain = PRESETS[preset].with_snr(6.0)
    mix, ref, sent = _stream(profile, 48000, 4, rng, programme="music")
    res = apply_chain_detailed(mix, 48000, chain, rng, reference=ref)
    room = next(s for s in chain.stages if isinstance(s, Room))
    dets = _decode(res.audio, res.sample_rate_hz, rng)
    _check(dets, sent, profile, res.time_scale, room.distance_m / SPEED_OF_SOUND_M_S, True)


@pytest.mark.parametrize("sr", [44100, 48000])
def test_both_transmit_rates_through_aac192_room(sr: int, rng: np.random.Generator) -> None:
    mix, ref, sent = _stream("hf", sr, 3, rng)
    chain = Chain((BroadcastCodec("aac", 192), Room(0.4, 2.0, 1), Mic(44100, 100.0)))
    res = apply_chain_detailed(mix, sr, chain, rng, reference=ref)
    dets = _decode(res.audio, res.sample_rate_hz, rng)
    _check(dets, sent, "hf", res.time_scale, 2.0 / SPEED_OF_SOUND_M_S, True)


# ------------------------------------------------------------------------------- full sweep
_CODECS = {
    "aac128": BroadcastCodec("aac", 128),
    "aac192": BroadcastCodec("aac", 192),
    "aac256": BroadcastCodec("aac", 256),
    "mp3-128": BroadcastCodec("mp3", 128),
}
_SUPPORTS = {"hf": {"aac192", "aac256"}, "robust": set(_CODECS)}


@pytest.mark.parametrize("profile", ["hf", "robust"])
@pytest.mark.parametrize("codec", sorted(_CODECS))
@pytest.mark.parametrize(("rt60", "dist"), [(0.2, 0.5), (0.4, 2.0), (0.7, 4.0)])
@pytest.mark.parametrize("snr", [0.0, 3.0, 10.0])
@pytest.mark.parametrize("ppm", [-300.0, 300.0])
def test_full_sweep(
    profile: str, codec: str, rt60: float, dist: float, snr: float, ppm: float
) -> None:
    rng = np.random.default_rng(
        [int(rt60 * 10), int(dist * 10), int(snr), int(ppm) + 1000, len(codec)]
    )
    mix, ref, sent = _stream(profile, 48000, 5, rng, programme="music")
    chain = Chain(
        (
            _CODECS[codec],
            Speaker(),
            Room(rt60, dist, 3),
            Noise("pink", snr),
            Mic(44100, ppm),
            Agc(20.0, 1.5),
            Quantise(16),
        )
    )
    res = apply_chain_detailed(mix, 48000, chain, rng, reference=ref)
    dets = _decode(res.audio, res.sample_rate_hz, rng)
    # below +10 dB detection is a rate (bench: 98-99.5 % at +3 dB, docs/channel-bench.md), not a
    # per-trigger promise; this sweep misses 4 of its 180 triggers at +3 dB (8 before 45de127)
    must = codec in _SUPPORTS[profile] and snr >= 10.0
    _check(dets, sent, profile, res.time_scale, dist / SPEED_OF_SOUND_M_S, must)
