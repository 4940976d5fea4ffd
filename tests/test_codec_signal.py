"""Spectral and level tests of trigger_codec.encode, computed independently with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trigger_codec import PROFILES, ParameterError, airtime_s, encode

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


def test_each_symbol_is_one_tone_on_a_50_hz_bin() -> None:
    sr = 48000
    n = sr // 50  # 20 ms symbols
    lead = sr // 100  # the FIR's 10 ms group delay
    wave = encode(7, 123456, sr, "hf").astype(np.float64)
    # symbol 0 (preamble) occupies [lead, lead + n): look at its middle 10 ms
    seg = wave[lead + n // 4 : lead + 3 * n // 4]
    spec = np.abs(np.fft.rfft(seg, 16 * seg.size))
    f = np.fft.rfftfreq(16 * seg.size, 1 / sr)
    assert f[spec.argmax()] == pytest.approx((PROFILES["hf"].first_bin + 1) * 50.0, abs=10)


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


def test_different_ids_give_different_waves() -> None:
    assert not np.array_equal(encode(1, 2), encode(1, 3))
