"""Round-trip matrices: trigger_codec.encode -> channel_sim stages -> trigger_codec.Decoder.

A small grid (one condition at a time, plus whole chains) and the sweep (rooms x codecs x SNRs x
clock offsets, 144 cells; 24 of them by default, all with ``JIMAKU_FULL_SWEEP=1``, ~1.5 min).
Expected triggers come from how the stream was built (IDs, positions, the chain's time scale),
never from the decoder.

Every cell checks correctness: no wrong ID, no trigger twice, start times within 30 ms. Every
sweep cell also has a floor on the triggers found (of 5): where the product promises every trigger
(a supported chain at +10 dB in-band SNR) all 5; elsewhere the floor comes from the cell's rate
measured on other streams of the same cell by ``benchmarks/bench_codec_matrix.py``
(tests/data/codec_matrix_rates.json): the one-sided 95 % lower bound of the rate, then the most
triggers a decoder at that rate still finds in 999 of 1,000 five-trigger streams. Only cells where
the codec removes the profile's band (hf through AAC 128k / MP3 128k: nothing found on any
measured stream) have floor 0.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

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


def sweep_cell(
    profile: str, codec: str, rt60: float, dist: float, snr: float, ppm: float, trial: int = 0
) -> tuple[int, int]:
    """Run one sweep cell: 5 triggers through its chain; return (found, sent).

    ``trial`` 0 is the test's own stream; ``benchmarks/bench_codec_matrix.py`` measures each
    cell's rate on trials 1.. (other streams of the same cell) to set the floors.
    """
    seed = [int(rt60 * 10), int(dist * 10), int(snr), int(ppm) + 1000, len(codec)]
    rng = np.random.default_rng(seed + ([trial] if trial else []))
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
    found = _check(dets, sent, profile, res.time_scale, dist / SPEED_OF_SOUND_M_S, False)
    return found, len(sent)


SWEEP = [
    (profile, codec, rt60, dist, snr, ppm)
    for ppm in (-300.0, 300.0)
    for snr in (0.0, 3.0, 10.0)
    for rt60, dist in ((0.2, 0.5), (0.4, 2.0), (0.7, 4.0))
    for codec in sorted(_CODECS)
    for profile in ("hf", "robust")
]
#: the default run: every profile x codec in 3 cells that between them cover each room, each SNR
#: and both clock offsets (24 of the 144); ``JIMAKU_FULL_SWEEP=1`` runs all (README: Development)
_DEFAULT = {
    (p, c, *room, snr, ppm)
    for i, c in enumerate(sorted(_CODECS))
    for p in ("hf", "robust")
    for room, snr, ppm in zip(
        ((0.2, 0.5), (0.4, 2.0), (0.7, 4.0)),
        (0.0, 3.0, 10.0),
        ((-300.0, 300.0, -300.0) if i % 2 else (300.0, -300.0, 300.0)),
        strict=True,
    )
}
FULL_SWEEP = os.environ.get("JIMAKU_FULL_SWEEP") == "1"
#: per cell: what benchmarks/bench_codec_matrix.py found on other streams of it, and the floor
RATES_FILE = Path(__file__).parent / "data" / "codec_matrix_rates.json"


@functools.cache
def rates() -> dict[tuple[object, ...], dict[str, float]]:
    """The measured table, by cell (read when a test needs it: the benchmark writes it)."""
    return {tuple(r["cell"]): r for r in json.loads(RATES_FILE.read_text())["cells"]}


def floor(profile: str, codec: str, snr: float, measured: int) -> int:
    """Triggers of 5 a cell must find: the measured floor, all 5 where the product promises it.

    The promise (docs/channel-bench.md): a supported chain (hf: AAC 192k/256k; robust: every
    codec) at +10 dB in-band SNR finds every trigger.
    """
    return 5 if codec in _SUPPORTS[profile] and snr >= 10.0 else measured


@pytest.mark.parametrize(
    ("profile", "codec", "rt60", "dist", "snr", "ppm"),
    [c for c in SWEEP if FULL_SWEEP or c in _DEFAULT],
)
def test_full_sweep(
    profile: str, codec: str, rt60: float, dist: float, snr: float, ppm: float
) -> None:
    cell = (profile, codec, rt60, dist, snr, ppm)
    found, sent = sweep_cell(*cell)
    rate = rates()[cell]
    need = floor(profile, codec, snr, int(rate["floor"]))
    assert found >= need, (
        f"{found}/{sent} found, the floor is {need}: other streams of this cell found "
        f"{rate['found']}/{rate['sent']} (benchmarks/bench_codec_matrix.py)"
    )


def test_every_cell_has_a_floor_and_a_decoder_finding_nothing_fails_where_it_can() -> None:
    """The table covers the sweep; every cell whose measured rate allows it has a floor >= 1.

    A cell with floor 0 is one where the product does not work (hf through a codec that removes
    its band: 0 found on every measured stream); it checks only that nothing wrong is decoded.
    """
    table = rates()
    assert set(table) == set(SWEEP)
    zero = sorted(c for c in SWEEP if floor(c[0], c[1], c[4], int(table[c]["floor"])) == 0)
    assert all(c[1] not in _SUPPORTS[c[0]] for c in zero), zero
    assert all(table[c]["found"] <= 0.5 * table[c]["sent"] for c in zero), zero
