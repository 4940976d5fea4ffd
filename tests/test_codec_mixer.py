"""TriggerMixer tests: scheduling, level rules, limiter, decodability of the mix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trigger_codec import AudioFormatError, Decoder, ParameterError, TriggerMixer, encode
from trigger_codec.mixer import ROBUST_CEILING_DBFS, ROBUST_FLOOR_DBFS, ROBUST_OFFSET_DB


def run(mixer: TriggerMixer, prog: np.ndarray, block: int = 512) -> np.ndarray:
    return np.concatenate([mixer.process(prog[i : i + block]) for i in range(0, len(prog), block)])


def decode(x: np.ndarray, sr: int) -> list[tuple[int, int, str, int]]:
    dec = Decoder(sr)
    dets = dec.feed(np.asarray(x, dtype=np.float32)) + dec.flush()
    return [(d.channel, d.seq, d.profile, round(d.start_s * sr)) for d in dets]


@pytest.mark.parametrize("sr", [44100, 48000])
def test_hf_mix_is_the_encoded_wave_at_its_position(sr: int) -> None:
    m = TriggerMixer(sr, "hf", channels=2)
    prog = np.zeros((sr, 2), dtype=np.float32)
    start = m.schedule(7, 123, at_sample=1000)
    out = run(m, prog, 333)
    w = encode(7, 123, sr, "hf")
    assert start == 1000 and m.position == sr
    np.testing.assert_allclose(out[1000 : 1000 + w.size, 0], w, atol=1e-7)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert np.all(out[:1000] == 0) and np.all(out[1000 + w.size :] == 0)
    assert [d[:3] for d in decode(out[:, 0], sr)] == [(7, 123, "hf")]


def test_asap_and_overlap_are_serialised() -> None:
    sr = 48000
    m = TriggerMixer(sr, "hf")
    n = encode(0, 0, sr, "hf").size
    run(m, np.zeros(5000, dtype=np.float32))
    a = m.schedule(1, 1)  # as soon as possible = current position
    b = m.schedule(2, 2, at_sample=a + 10)  # would overlap a: starts after it
    c = m.schedule(3, 3)
    assert (a, b, c) == (5000, 5000 + n, 5000 + 2 * n)
    out = run(m, np.zeros(2 * sr, dtype=np.float32))
    got = decode(np.concatenate([np.zeros(5000), out]), sr)
    assert [g[:2] for g in got] == [(1, 1), (2, 2), (3, 3)]


def test_past_schedule_and_bad_ids_are_parameter_errors() -> None:
    m = TriggerMixer(48000, "hf")
    m.process(np.zeros(100, dtype=np.float32))
    with pytest.raises(ParameterError, match="in the past"):
        m.schedule(1, 1, at_sample=50)
    with pytest.raises(ParameterError, match="channel=5000"):
        m.schedule(5000, 1)
    with pytest.raises(ParameterError, match="too low"):
        TriggerMixer(32000, "hf")
    with pytest.raises(ParameterError, match="channels"):
        TriggerMixer(48000, "hf", channels=0)


def test_bad_blocks_are_audio_format_errors() -> None:
    m = TriggerMixer(48000, "hf", channels=2)
    for bad in (
        np.zeros(10, np.float32),
        np.zeros((10, 3), np.float32),
        np.zeros((10, 2), np.int16),
    ):
        with pytest.raises(AudioFormatError):
            m.process(bad)


def test_limiter_never_reaches_full_scale_and_passes_programme_elsewhere() -> None:
    sr = 48000
    m = TriggerMixer(sr, "hf")
    t = np.arange(sr) / sr
    prog = (0.99 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    start = m.schedule(1, 2, at_sample=10000)
    out = run(m, prog)
    n = encode(1, 2, sr, "hf").size
    assert np.abs(out).max() < 1.0
    np.testing.assert_array_equal(out[:start], prog[:start])
    np.testing.assert_array_equal(out[start + n :], prog[start + n :])


def band_rms_dbfs(x: np.ndarray, sr: int) -> float:
    sos = signal.butter(8, [12500, 15500], btype="bandpass", fs=sr, output="sos")
    y = signal.sosfilt(sos, x.astype(np.float64))
    return float(10 * np.log10(np.mean(y**2)))


@pytest.mark.parametrize("prog_level", [0.0, 0.003, 0.03, 0.3])
def test_robust_level_follows_programme_band_level(
    prog_level: float, rng: np.random.Generator
) -> None:
    sr = 48000
    m = TriggerMixer(sr, "robust")
    prog = (rng.normal(0, prog_level, 2 * sr)).astype(np.float32)
    start = m.schedule(4, 5, at_sample=sr)
    out = run(m, prog)
    n = encode(4, 5, sr, "robust").size
    trig = out[start : start + n].astype(np.float64) - prog[start : start + n]
    trig_dbfs = 10 * np.log10(np.mean(trig**2))
    band = band_rms_dbfs(prog[sr // 2 : sr], sr) if prog_level else -np.inf
    want = min(max(band + ROBUST_OFFSET_DB, ROBUST_FLOOR_DBFS), ROBUST_CEILING_DBFS)
    assert trig_dbfs == pytest.approx(want, abs=1.0)


def test_robust_mix_decodes_in_quiet_programme(rng: np.random.Generator) -> None:
    sr = 44100
    m = TriggerMixer(sr, "robust")
    prog = rng.normal(0, 0.01, 2 * sr).astype(np.float32)
    m.schedule(10, 20, at_sample=20000)
    assert [d[:3] for d in decode(run(m, prog), sr)] == [(10, 20, "robust")]
