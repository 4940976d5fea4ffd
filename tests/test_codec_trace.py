"""The decoder's observer (``Decoder(sr, trace=...)``, :mod:`trigger_codec.trace`)."""

from __future__ import annotations

import numpy as np
import pytest

from trigger_codec import Decoder, Detection, encode
from trigger_codec.encoder import LEAD_S
from trigger_codec.framing import MIN_Z, bit_llrs, encode_payload, pack
from trigger_codec.trace import (
    Candidate,
    DecodeAttempt,
    FramesAnalysed,
    PhaseDecoded,
    Recorder,
    Reported,
    SyncScores,
)


def _stream(x: np.ndarray, sr: int, block: int, rec: Recorder | None) -> list[Detection]:
    dec = Decoder(sr, trace=rec)
    out: list[Detection] = []
    for i in range(0, x.size, block):
        out += dec.feed(x[i : i + block])
    return out + dec.flush()


def _programme(
    sr: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int, str, int]]]:
    """Noise with three triggers; returns (audio, [(channel, seq, profile, start sample)])."""
    x = rng.normal(0, 0.05, 4 * sr)
    placed = [(17, 4242, "hf", sr // 3), (2, 99, "robust", sr + 1234), (4095, 1, "hf", 3 * sr)]
    for ch, seq, prof, at in placed:
        w = encode(ch, seq, sr, prof)
        x[at : at + w.size] += w
    return x.astype(np.float32), placed


@pytest.mark.parametrize("sr", [44100, 48000])
def test_tracing_changes_no_detection(sr: int, rng: np.random.Generator) -> None:
    x, placed = _programme(sr, rng)
    plain = _stream(x, sr, 1024, None)
    rec = Recorder()
    assert _stream(x, sr, 1024, rec) == plain
    assert [(d.channel, d.seq, d.profile) for d in plain] == [p[:3] for p in placed]
    reported = [e.detection for e in rec.events if isinstance(e, Reported)]
    assert reported == plain


def test_the_grid_is_recorded_frame_by_frame(rng: np.random.Generator) -> None:
    sr = 48000
    x, _ = _programme(sr, rng)
    rec = Recorder()
    _stream(x, sr, 777, rec)
    g = rec.grid()
    hop = sr // 100
    n = sr // 50
    end = x.size + n  # flush() pads one frame of zeros
    assert g.power.shape[0] == (end - n) // hop + 1  # every frame j with j * hop + n <= end
    assert set(g.columns) == {"hf", "robust"}
    assert g.power.shape[1] == g.columns["robust"].stop == 43 + 49
    # an independent computation of one frame's band power: its rfft at the tone bins
    j = 150
    frame = x[j * hop : j * hop + sr // 50].astype(np.float64)
    spec = np.fft.rfft(frame)
    bins = np.r_[344 : 344 + 43, 256 : 256 + 49]
    np.testing.assert_allclose(g.power[j], np.abs(spec[bins]) ** 2, rtol=2e-3, atol=1e-9)
    scores = [e for e in rec.events if isinstance(e, SyncScores) and e.profile == "hf"]
    frames = np.concatenate(
        [np.arange(e.first_frame, e.first_frame + e.values.size) for e in scores]
    )
    assert np.array_equal(frames, np.arange(frames.size))  # every candidate frame once, in order


@pytest.mark.parametrize("profile", ["hf", "robust"])
def test_a_clean_trigger_s_decode_attempt_holds_its_tones_bits_and_word(profile: str) -> None:
    sr = 48000
    ch, seq, start = 1234, 567890, 9000
    w = encode(ch, seq, sr, profile).astype(np.float64)
    x = np.zeros(start + w.size + sr // 4)
    x[start : start + w.size] = w
    rec = Recorder(keep_frames=False)
    dets = _stream(x.astype(np.float32), sr, 4096, rec)
    assert [(d.channel, d.seq) for d in dets] == [(ch, seq)]
    accepted = [e for e in rec.events if isinstance(e, DecodeAttempt) and e.outcome == "accepted"]
    assert len(accepted) == 1
    e = accepted[0]
    # its frame: the preamble's first symbol starts LEAD_S after the waveform, frame j at j hops
    assert abs(e.frame - round((start + LEAD_S * sr) / (sr // 100))) <= 1
    tones = encode_payload(ch, seq)  # the 20 tone values the encoder sent
    assert e.metrics.shape == e.check_energies.shape == (20, 32)
    assert np.array_equal(e.metrics.argmax(axis=1), tones)
    # the check energies divide less by the reverberant tail: in digital silence the first
    # data symbol can still hear the last preamble tone
    assert np.count_nonzero(e.check_energies.argmax(axis=1) == tones) >= 18
    assert e.llrs.shape == (100,)
    np.testing.assert_array_equal(e.llrs, bit_llrs(e.metrics, e.sharpness))
    sent_bits = np.unpackbits(np.frombuffer(pack(ch, seq), dtype=np.uint8))
    assert e.words[-1].ident == (ch, seq)
    assert np.array_equal(e.words[-1].bits, sent_bits)
    assert e.z == e.words[-1].z >= MIN_Z
    phases = [p for p in rec.events if isinstance(p, PhaseDecoded) and p.outcome == "found"]
    assert [(p.profile, p.frame) for p in phases] == [(profile, e.frame)]
    cands = [c for c in rec.events if isinstance(c, Candidate) and c.outcome == "decode"]
    assert cands and all(c.sync >= 0.10 or c.tier == "low" for c in cands)


def test_no_events_without_frames_when_asked(rng: np.random.Generator) -> None:
    sr = 44100
    x, _ = _programme(sr, rng)
    rec = Recorder(keep_frames=False)
    _stream(x, sr, 4096, rec)
    assert rec.events and not any(isinstance(e, FramesAnalysed) for e in rec.events)
    with pytest.raises(ValueError, match="no frames"):
        rec.grid()
