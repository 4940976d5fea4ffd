"""Tests of channel_sim: each stage against an independent computation, the chain, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, correlate, freqz_sos, sosfilt, welch

import channel_sim
from channel_sim import (
    PRESETS,
    Agc,
    BroadcastCodec,
    BroadcastCodecError,
    Chain,
    ChainConfigError,
    ChannelSimError,
    Mic,
    Noise,
    ProgrammeError,
    Quantise,
    Room,
    Speaker,
    apply_chain,
    apply_chain_detailed,
    codec_round_trip,
    make_programme,
    mic_resample,
    quantise,
    room_impulse_response,
    speaker_rolloff,
)
from channel_sim.codec import _encode_decode, measure_cutoff_hz
from channel_sim.room import SPEED_OF_SOUND_M_S

SR = 48000


def _tone(freq_hz: float, seconds: float, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-30))


def _burst(freq_hz: float, start_s: float, total_s: float, dur_s: float = 0.25) -> np.ndarray:
    """A Hann-windowed tone burst: a stand-in trigger with a known band and position."""
    x = np.zeros(int(total_s * SR), dtype=np.float32)
    n = int(dur_s * SR)
    s = int(start_s * SR)
    x[s : s + n] = _tone(freq_hz, dur_s)[:n] * np.hanning(n).astype(np.float32)
    return x


# ------------------------------------------------------------------------------ package shape
def test_exported_names_exist_and_match_all() -> None:
    for name in channel_sim.__all__:
        assert hasattr(channel_sim, name), name
    assert {"Chain", "PRESETS", "apply_chain", "ChannelSimError"} <= set(channel_sim.__all__)


def test_exception_tree() -> None:
    assert issubclass(ChainConfigError, ChannelSimError)
    assert issubclass(ChainConfigError, ValueError)
    assert issubclass(BroadcastCodecError, ChannelSimError)
    assert issubclass(ProgrammeError, ChannelSimError)


# ------------------------------------------------------------------------------------- codec
@pytest.mark.parametrize(("codec", "kbps"), [("aac", 128), ("aac", 192), ("mp3", 128)])
def test_codec_round_trip_is_time_aligned_and_same_length(
    codec: str, kbps: int, rng: np.random.Generator
) -> None:
    sos = butter(6, 5000, fs=SR, output="sos")
    x = (0.1 * sosfilt(sos, rng.standard_normal(3 * SR))).astype(np.float32)
    y = codec_round_trip(x, SR, codec, kbps)
    assert y.shape == x.shape and y.dtype == np.float32
    c = correlate(y, x, mode="full", method="fft")
    lag = int(np.argmax(np.abs(c))) - (len(x) - 1)
    assert lag == 0
    assert np.corrcoef(x[2000:-2000], y[2000:-2000])[0, 1] > 0.98


@pytest.mark.parametrize(
    ("codec", "kbps", "lo_hz", "hi_hz"),
    [
        # ranges from the measured facts in the brief (ffmpeg AAC 128k ~17.25 kHz, 192k ~19.5 kHz,
        # MP3 128k ~16.7 kHz)
        ("aac", 128, 16800, 17800),
        ("aac", 192, 19000, 20000),
        ("mp3", 128, 16200, 17100),
    ],
)
def test_codec_cutoff_matches_known_encoder_behaviour(
    codec: str, kbps: int, lo_hz: float, hi_hz: float
) -> None:
    assert lo_hz <= measure_cutoff_hz(codec, kbps, SR) <= hi_hz


def test_codec_keeps_or_cuts_a_18khz_tone() -> None:
    x = _tone(18000, 1.0)
    kept = codec_round_trip(x, SR, "aac", 192)
    cut = codec_round_trip(x, SR, "aac", 128)
    mid = slice(SR // 4, 3 * SR // 4)
    assert abs(_level_db(kept[mid]) - _level_db(x[mid])) < 1.5
    assert _level_db(cut[mid]) < _level_db(x[mid]) - 30


def test_codec_ffmpeg_failure_is_mapped() -> None:
    # libmp3lame refuses 96 kHz: av.FFmpegError must surface as BroadcastCodecError
    with pytest.raises(BroadcastCodecError, match="96000 Hz failed in ffmpeg"):
        _encode_decode(np.zeros(9600, dtype=np.float32), 96000, "mp3", 128, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"codec": "opus"}, "unknown broadcast codec 'opus'"),
        ({"sr": 22050}, "22050 Hz is not supported"),
        ({"bitrate_kbps": 1000}, "1000 kbit/s is outside"),
        ({"channels": 6}, "channels must be 1 or 2, got 6"),
    ],
)
def test_codec_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"sr": SR, "codec": "aac", "bitrate_kbps": 128, "channels": 2}
    args.update(kwargs)
    with pytest.raises(ChainConfigError, match=match):
        codec_round_trip(np.zeros(1000, dtype=np.float32), **args)  # type: ignore[arg-type]


def test_codec_empty_input() -> None:
    assert codec_round_trip(np.zeros(0, dtype=np.float32), SR).shape == (0,)


# ----------------------------------------------------------------------------------- speaker
def test_speaker_response_matches_scipy_design() -> None:
    x = np.zeros(SR, dtype=np.float32)
    x[0] = 1.0
    h = speaker_rolloff(x, SR)
    spec = np.abs(np.fft.rfft(h))
    f = np.fft.rfftfreq(len(h), 1 / SR)
    sos = np.vstack(
        [
            butter(2, 180, btype="highpass", fs=SR, output="sos"),
            butter(1, 14000, fs=SR, output="sos"),
        ]
    )
    _, ref = freqz_sos(sos, worN=f, fs=SR)
    for fr in (50, 1000, 18000):
        i = int(np.argmin(np.abs(f - fr)))
        assert abs(20 * np.log10(spec[i]) - 20 * np.log10(np.abs(ref[i]))) < 0.1
    i18 = int(np.argmin(np.abs(f - 18000)))
    assert -9 < 20 * np.log10(spec[i18]) < -4  # a small speaker loses a few dB at 18 kHz


def test_speaker_bad_corner() -> None:
    with pytest.raises(ChainConfigError, match="cutoff_hz=30000"):
        speaker_rolloff(np.zeros(100, dtype=np.float32), SR, cutoff_hz=30000)


# -------------------------------------------------------------------------------------- room
@pytest.mark.parametrize("distance_m", [0.5, 2.0, 4.0])
def test_rir_direct_path_delay_and_gain(distance_m: float) -> None:
    rir = room_impulse_response(0.3, distance_m, SR, 3)
    direct = round(distance_m / SPEED_OF_SOUND_M_S * SR)
    window = np.abs(rir[direct - 3 : direct + 4])
    assert window.max() == pytest.approx(1 / distance_m, rel=0.02)
    # nothing arrives before the direct sound
    # (the fractional-delay filter rings for ~20 samples around each arrival)
    assert np.max(np.abs(rir[: direct - 25])) < 0.05 / distance_m


@pytest.mark.parametrize("rt60_s", [0.2, 0.4, 0.7])
def test_rir_reverberation_time(rt60_s: float) -> None:
    import pyroomacoustics as pra

    rir = room_impulse_response(rt60_s, 2.0, SR, 1)
    measured = pra.experimental.measure_rt60(rir, SR, decay_db=30)
    # the image-source model with Sabine's inverse and air absorption lands within ~20 %
    assert rt60_s * 0.75 < measured < rt60_s * 1.2


def test_rir_is_cached_and_read_only() -> None:
    a = room_impulse_response(0.4, 1.0, SR, 5)
    b = room_impulse_response(0.4, 1.0, SR, 5)
    assert a is b
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 1.0


def test_room_distance_that_does_not_fit() -> None:
    with pytest.raises(ChainConfigError, match="does not fit"):
        room_impulse_response(0.3, 9.0, SR, 0, (3.0, 3.0, 2.5))
    with pytest.raises(ChainConfigError, match="rt60_s=3"):
        Room(rt60_s=3.0)


# ------------------------------------------------------------------------------------- noise
def test_in_band_snr_matches_independent_measurement(rng: np.random.Generator) -> None:
    # an hf-like stand-in trigger: band-limited noise 17-19.5 kHz, flat-topped with short ramps
    n = int(0.25 * SR)
    sos = butter(10, [17000, 19500], btype="bandpass", fs=SR, output="sos")
    burst = sosfilt(sos, rng.standard_normal(n + 2000))[2000:]
    ramp = np.hanning(2 * 480)
    burst[:480] *= ramp[:480]
    burst[-480:] *= ramp[480:]
    ref = np.zeros(2 * SR, dtype=np.float32)
    ref[SR // 2 : SR // 2 + n] = (0.1 * burst).astype(np.float32)
    programme = np.zeros_like(ref)
    for snr in (-6.0, 0.0, 10.0):
        res = apply_chain_detailed(
            programme + ref, SR, Chain((Noise("pink", snr_db=snr),)), rng, reference=ref
        )
        noise = res.audio - ref
        lo, hi = res.noise_band_hz or (0, 0)
        assert 16800 < lo < 17200 and 19300 < hi < 19700
        # independent: Welch PSDs integrated over the band; trigger over its 0.25 s airtime
        f, pn = welch(noise, SR, nperseg=4096)
        _, pt = welch(ref[int(0.5 * SR) : int(0.75 * SR)], SR, nperseg=4096)
        band = (f >= lo) & (f <= hi)
        p_noise = np.sum(pn[band])
        p_trig = np.sum(pt[band])
        measured = 10 * np.log10(p_trig / p_noise)
        assert measured == pytest.approx(snr, abs=0.5)


def test_pink_noise_slope(rng: np.random.Generator) -> None:
    x = channel_sim.pink_noise(SR * 10, rng)
    f, p = welch(x, SR, nperseg=8192)
    sel = (f > 100) & (f < 10000)
    slope_db_per_decade = np.polyfit(np.log10(f[sel]), 10 * np.log10(p[sel]), 1)[0]
    assert slope_db_per_decade == pytest.approx(-10.0, abs=1.0)  # 1/f: -10 dB per decade


def test_noise_stage_needs_reference_or_absolute_level(rng: np.random.Generator) -> None:
    with pytest.raises(ChainConfigError, match="reference="):
        apply_chain(np.zeros(SR, dtype=np.float32), SR, Chain((Noise("white", 0.0),)), rng)
    with pytest.raises(ChainConfigError, match="exactly one"):
        Noise("white", snr_db=0.0, level_dbfs=-40.0)
    with pytest.raises(ChainConfigError, match="unknown noise kind 'brown'"):
        Noise("brown", 0.0)
    out, _ = apply_chain(
        np.zeros(SR * 2, dtype=np.float32), SR, Chain((Noise("babble", None, -30.0),)), rng
    )
    assert _level_db(out) == pytest.approx(-30.0, abs=0.2)


# --------------------------------------------------------------------------------------- mic
@pytest.mark.parametrize("ppm", [-300.0, 0.0, 300.0])
def test_mic_clock_offset_scales_time_and_frequency(ppm: float) -> None:
    x = np.zeros(4 * SR, dtype=np.float32)
    x[2 * SR] = 1.0  # a click at exactly 2.000 s
    tone = _tone(10000, 4.0)
    y = mic_resample(x + 0.0 * tone, SR, 44100, ppm)
    scale = 1 + ppm * 1e-6
    assert len(y) == round(len(x) * 44100 * scale / SR)
    assert int(np.argmax(np.abs(y))) == pytest.approx(2 * 44100 * scale, abs=1)
    yt = mic_resample(tone, SR, 44100, ppm).astype(np.float64)
    n = len(yt)
    spec = np.abs(np.fft.rfft(yt * np.hanning(n), 16 * n))
    f_peak = np.argmax(spec) * 44100 / (16 * n)
    # a fast clock samples more often: the tone looks lower by the same ratio
    assert f_peak == pytest.approx(10000 / scale, abs=0.3)


def test_quantise_grid_and_clipping() -> None:
    x = np.array([0.0, 0.3, -0.3, 1.5, -1.5, 1e-6], dtype=np.float32)
    q = quantise(x, 16)
    assert np.all(np.abs(q * 32768 - np.round(q * 32768)) < 1e-6)
    assert q[3] == pytest.approx(32767 / 32768) and q[4] == -1.0
    assert np.max(np.abs(q[:3] - x[:3])) <= 0.5 / 32768 + 1e-9
    with pytest.raises(ChainConfigError, match="bits=1"):
        quantise(x, 1)


def test_agc_applies_the_same_gain_to_the_reference(rng: np.random.Generator) -> None:
    x = _tone(1000, 3.0)
    res = apply_chain_detailed(x, SR, Chain((Agc(30.0, 0.5),)), rng, reference=x)
    assert res.reference is not None
    np.testing.assert_allclose(res.audio, res.reference, rtol=1e-6)
    g = 20 * np.log10(np.abs(res.audio[SR // 2 :: 97]) / (np.abs(x[SR // 2 :: 97]) + 1e-9) + 1e-12)
    ok = np.abs(x[SR // 2 :: 97]) > 0.05
    assert np.all(np.abs(g[ok]) <= 15.0 + 0.01) and np.ptp(g[ok]) > 5.0


# -------------------------------------------------------------------------------- programme
def test_speech_programme(rng: np.random.Generator) -> None:
    x = make_programme("speech", 6.0, SR, rng, voice="ko")
    assert x.shape == (6 * SR,) and x.dtype == np.float32
    assert -30 < _level_db(x) < -15
    f, p = welch(x, SR, nperseg=4096)
    assert np.sum(p[(f > 200) & (f < 4000)]) > 0.5 * np.sum(p)  # speech band dominates


def test_music_has_strong_high_frequency_content(rng: np.random.Generator) -> None:
    x = make_programme("music", 8.0, SR, rng)
    assert np.max(np.abs(x)) <= 0.95
    f, p = welch(x, SR, nperseg=4096)
    hf_share = np.sum(p[(f > 12000) & (f < 20000)]) / np.sum(p)
    assert hf_share > 0.01  # hi-hats/cymbals: far more than speech has up there


def test_programme_kinds_and_bad_kind(rng: np.random.Generator) -> None:
    assert not np.any(make_programme("silence", 1.0, SR, rng))
    assert _level_db(make_programme("noise", 2.0, SR, rng)) == pytest.approx(-30, abs=0.5)
    with pytest.raises(ChainConfigError, match="unknown programme kind 'jazz'"):
        make_programme("jazz", 1.0, SR, rng)


def test_espeak_failure_is_mapped(rng: np.random.Generator) -> None:
    from channel_sim.programme import synth_speech

    with pytest.raises(ProgrammeError, match="espeak-ng failed for voice 'xx-nonexistent'"):
        synth_speech("hello", SR, voice="xx-nonexistent")


# ----------------------------------------------------------------------------------- chains
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_run_and_keep_a_high_band_burst_where_expected(
    name: str, rng: np.random.Generator
) -> None:
    ref = _burst(13500, 0.5, 1.5)
    chain = PRESETS[name]
    if any(isinstance(s, Noise) and s.snr_db is not None for s in chain.stages):
        chain = chain.with_snr(20.0)  # the presets at 0 dB would bury a single burst
    out, sr_out = apply_chain(ref.copy(), SR, chain, rng, reference=ref)
    mic = [s for s in PRESETS[name].stages if isinstance(s, Mic)]
    assert sr_out == (mic[0].sample_rate_hz if mic else SR)
    assert abs(len(out) - round(len(ref) * sr_out / SR)) <= len(ref) * 300e-6 + 1
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    # a 13.5 kHz burst survives every preset: its band holds more power during the burst
    sos = butter(8, [13000, 14000], btype="bandpass", fs=sr_out, output="sos")
    y = sosfilt(sos, out)
    k = sr_out / SR
    during = y[int(0.55 * SR * k) : int(0.7 * SR * k)]
    before = y[int(0.1 * SR * k) : int(0.4 * SR * k)]
    assert _level_db(during) > _level_db(before) + 3


def test_chain_is_deterministic_for_a_seed() -> None:
    ref = _burst(18000, 0.3, 1.0)
    a, _ = apply_chain(ref, SR, PRESETS["living-room"], np.random.default_rng(3), reference=ref)
    b, _ = apply_chain(ref, SR, PRESETS["living-room"], np.random.default_rng(3), reference=ref)
    np.testing.assert_array_equal(a, b)


def test_with_snr_and_split() -> None:
    ch = PRESETS["kitchen"].with_snr(-3.0, "white")
    noise = [s for s in ch.stages if isinstance(s, Noise)]
    assert noise == [Noise("babble", None, -30.0), Noise("white", -3.0)]
    pre, post = ch.split_at_noise()
    assert isinstance(post.stages[0], Noise)
    assert len(pre.stages) + len(post.stages) == len(ch.stages)
    assert "aac128" in Chain((BroadcastCodec("aac", 128), Room(), Mic(), Quantise())).label


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.array([0.0, np.nan, 0.1], dtype=np.float32), "NaN or infinite"),
        (np.zeros((10, 5), dtype=np.float32), r"shape \(10, 5\)"),
        (np.zeros(10, dtype=np.int32), "dtype int32"),
    ],
)
def test_bad_audio_is_rejected(audio: np.ndarray, match: str, rng: np.random.Generator) -> None:
    with pytest.raises(ChainConfigError, match=match):
        apply_chain(audio, SR, PRESETS["aac128"], rng)


def test_other_bad_chain_input(rng: np.random.Generator) -> None:
    x = np.zeros(SR, dtype=np.float32)
    with pytest.raises(ChainConfigError, match="reference has 10 samples but audio has 48000"):
        apply_chain(x, SR, PRESETS["direct"], rng, reference=np.zeros(10, dtype=np.float32))
    with pytest.raises(ChainConfigError, match=r"must be a channel_sim\.Chain"):
        apply_chain(x, SR, [Speaker()], rng)  # type: ignore[arg-type]
    with pytest.raises(ChainConfigError, match="sample rate must be positive"):
        apply_chain(x, 0, PRESETS["direct"], rng)
    with pytest.raises(ChainConfigError, match="clock_ppm=5000"):
        Mic(44100, 5000.0)
    # int16 and stereo input are accepted (converted / mixed down)
    out, _ = apply_chain(np.zeros((100, 2), dtype=np.int16), SR, PRESETS["direct"], rng)
    assert out.shape == (100,)
