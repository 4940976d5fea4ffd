"""Spectral and level tests of trigger_codec.encode, computed independently with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trigger_codec import PROFILES, ParameterError, airtime_s, encode
from trigger_codec.encoder import LEAD_S
from trigger_codec.framing import encode_payload
from trigger_codec.profiles import N_SYMBOLS

BANDS = {"hf": (17000.0, 19500.0), "robust": (12500.0, 15500.0)}


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("profile", ["hf", "robust"])
def test_out_of_band_at_least_50_db_down(sr: int, profile: str) -> None:
    wave = encode(123, 45678, sr, profile)
    f, pxx = signal.welch(wave.astype(np.float64), fs=sr, nperseg=2048, window="hann")
    lo, hi = BANDS[profile]
    inband = (f >= lo) & (f <= hi)
    assert 10 * np.log10(pxx[~inband].max() / pxx[inband].max()) <= -50.0


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("profile", ["hf", "robust"])
def test_shape_dtype_level_and_airtime(sr: int, profile: str) -> None:
    wave = encode(0, 0, sr, profile)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert wave.size == round(airtime_s(profile) * sr)
    assert airtime_s(profile) <= 0.5
    peak = float(np.abs(wave).max())
    assert peak <= 0.9
    assert peak == pytest.approx(10 ** (PROFILES[profile].peak_dbfs / 20), rel=1e-4)


@pytest.mark.parametrize("profile", ["hf", "robust"])
def test_ramps_no_clicks(profile: str) -> None:
    sr = 48000
    wave = encode(4095, 1_048_575, sr, profile).astype(np.float64)
    peak = np.abs(wave).max()
    # starts and ends at silence (FIR tails), no step at either end
    assert abs(wave[0]) < 1e-3 * peak and abs(wave[-1]) < 1e-3 * peak
    # a click is broadband: the sample-to-sample difference of a band-limited signal is bounded
    # by 2*pi*f_max/sr * peak; a discontinuity would exceed it
    f_max = BANDS[profile][1]
    assert np.abs(np.diff(wave)).max() <= 2 * np.pi * f_max / sr * peak * 1.05


# The tone plan as trigger_codec/README.md specifies it ("Signal"): symbol k occupies the 20 ms
# frame starting LEAD (the FIR's 10 ms group delay) + k frames into the waveform; the 3 preamble
# symbols sit on slots 1, n - 2 and n // 2; data symbol i with tone index v (0..31, what the
# framing layer makes of the ID: tests/test_codec_framing.py checks that against independent
# CRC and shift-register references) on slot (v + 13 i) mod n; slot s is bin first_bin + s of
# 50 Hz. Restated here instead of calling trigger_codec.modem, so a wrong tone plan fails.
IDS = [(0, 0), (7, 123456), (4095, 1_048_575), (1, 2), (1, 3)]


def _spec_slots(channel: int, seq: int, profile: str) -> list[int]:
    n = PROFILES[profile].n_slots
    values = encode_payload(channel, seq)
    return [1, n - 2, n // 2] + [(int(v) + 13 * i) % n for i, v in enumerate(values)]


def _heard_slots(wave: np.ndarray, sr: int, profile: str) -> tuple[list[int], float]:
    """The strongest of the profile's tone slots in each of the 23 symbol frames.

    Returns the slots and the weakest ratio, over the symbols, of the strongest slot's power to
    the runner-up's (a frame holding one tone on a bin centre has one slot far above the rest).
    """
    prof = PROFILES[profile]
    n = sr // 50
    lead = round(LEAD_S * sr)
    bins = prof.first_bin + np.arange(prof.n_slots)
    slots, margin = [], np.inf
    for k in range(N_SYMBOLS):
        frame = wave[lead + k * n : lead + (k + 1) * n].astype(np.float64)
        power = np.abs(np.fft.rfft(frame))[bins] ** 2  # rfft bin j is j * 50 Hz at n = sr / 50
        order = np.argsort(power)
        slots.append(int(order[-1]))
        margin = min(margin, float(power[order[-1]] / power[order[-2]]))
    return slots, margin


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("profile", ["hf", "robust"])
@pytest.mark.parametrize(("channel", "seq"), IDS[:3])
def test_each_symbol_is_its_specified_tone(sr: int, profile: str, channel: int, seq: int) -> None:
    wave = encode(channel, seq, sr, profile)
    slots, margin = _heard_slots(wave, sr, profile)
    assert slots == _spec_slots(channel, seq, profile)
    # one tone per symbol: the Tukey taper leaks into the next bins, far less than a second tone
    assert margin > 10.0


def test_ids_differ_exactly_in_the_symbols_their_payloads_differ() -> None:
    heard = {i: _heard_slots(encode(*i), 48000, "hf")[0] for i in IDS[3:]}
    spec = {i: _spec_slots(*i, "hf") for i in IDS[3:]}
    assert heard == spec
    a, b = (spec[i] for i in IDS[3:])
    differing = [k for k in range(N_SYMBOLS) if a[k] != b[k]]
    # seq 2 vs 3: one message bit plus the CRC differ; the code spreads that over many symbols
    assert len(differing) >= 5, differing
    assert all(k >= 3 for k in differing)  # the preamble is the same for every ID


@pytest.mark.parametrize(
    ("sr", "profile"), [(32000, "hf"), (22050, "robust"), (16000, "hf"), (44000.5, "hf"), (0, "hf")]
)
def test_bad_sample_rate_is_parameter_error(sr: float, profile: str) -> None:
    with pytest.raises(ParameterError, match=r"sample rate|sample_rate"):
        encode(1, 1, sr, profile)  # type: ignore[arg-type]


def test_robust_works_at_32_khz() -> None:
    assert encode(1, 1, 32000, "robust").size == round(airtime_s("robust") * 32000)


def test_unknown_profile() -> None:
    with pytest.raises(ParameterError, match=r"unknown profile 'loud'.*hf"):
        encode(1, 1, 48000, "loud")
