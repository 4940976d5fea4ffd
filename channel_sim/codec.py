"""Broadcast codec round trip (AAC / MP3) in memory through PyAV.

The signal is encoded as a stereo stream (both channels equal, as a mono announcer in a stereo
programme) at the given bit rate with ffmpeg's native AAC encoder or libmp3lame, decoded again,
and channel 0 is returned, time-aligned with the input (encoder delay removed, same length).
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np

from channel_sim.errors import BroadcastCodecError, ChainConfigError

__all__ = [
    "CODECS",
    "codec_delay_samples",
    "codec_response_db",
    "codec_round_trip",
    "measure_cutoff_hz",
]

#: codec name -> (container format, PyAV encoder name)
CODECS: dict[str, tuple[str, str]] = {
    "aac": ("adts", "aac"),
    "mp3": ("mp3", "libmp3lame"),
}
_RATES = (32000, 44100, 48000)


def _encode_decode(
    x: np.ndarray, sr: int, codec: str, bitrate_kbps: int, channels: int
) -> np.ndarray:
    import av

    fmt, enc_name = CODECS[codec]
    buf = io.BytesIO()
    try:
        with av.open(buf, mode="w", format=fmt) as out:
            stream = out.add_stream(enc_name, rate=sr)
            assert isinstance(stream, av.AudioStream)
            stream.bit_rate = int(bitrate_kbps) * 1000
            layout = "stereo" if channels == 2 else "mono"
            stream.layout = layout
            planar = np.ascontiguousarray(np.tile(x.astype(np.float32)[None, :], (channels, 1)))
            frame_len = 1152 * 8
            for i in range(0, planar.shape[1], frame_len):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(planar[:, i : i + frame_len]),
                    format="fltp",
                    layout=layout,
                )
                frame.sample_rate = sr
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        buf.seek(0)
        chunks: list[np.ndarray] = []
        with av.open(buf, mode="r", format=fmt) as inp:
            for frame in inp.decode(audio=0):
                arr = frame.to_ndarray()
                if frame.format.is_planar:
                    chunks.append(arr[0].astype(np.float32))
                else:
                    chunks.append(
                        arr.reshape(-1, len(frame.layout.channels))[:, 0].astype(np.float32)
                    )
    except av.FFmpegError as exc:  # mapped at the boundary: callers see one exception tree
        raise BroadcastCodecError(
            f"{codec} {bitrate_kbps} kbit/s round trip at {sr} Hz failed in ffmpeg: {exc}"
        ) from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)


@lru_cache(maxsize=64)
def codec_delay_samples(codec: str, bitrate_kbps: int, sr: int, channels: int = 2) -> int:
    """Encoder+decoder delay of a codec setting, measured once with a click train.

    Parameters
    ----------
    codec : str
        ``"aac"`` or ``"mp3"``.
    bitrate_kbps : int
        Total bit rate in kbit/s.
    sr : int
        Sample rate in Hz.
    channels : int
        1 or 2 encoded channels.

    Returns
    -------
    int
        Number of leading samples the decoded stream has in excess of the input.
    """
    n = sr * 2
    # a non-periodic probe (low-passed noise burst, well inside every codec's passband) so the
    # cross-correlation has a single unambiguous peak
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(12345)
    burst = sosfilt(butter(4, 6000, fs=sr, output="sos"), rng.standard_normal(sr // 4))
    probe = np.zeros(n, dtype=np.float32)
    probe[sr // 2 : sr // 2 + len(burst)] = (0.3 * burst / np.max(np.abs(burst))).astype(np.float32)
    y = _encode_decode(probe, sr, codec, bitrate_kbps, channels)
    y = np.concatenate([y, np.zeros(max(0, n + 8192 - len(y)), dtype=np.float32)])
    from scipy.signal import correlate

    corr = correlate(y[: n + 8192], probe, mode="valid", method="fft")
    return int(np.argmax(np.abs(corr)))


def codec_round_trip(
    audio: np.ndarray, sr: int, codec: str = "aac", bitrate_kbps: int = 128, channels: int = 2
) -> np.ndarray:
    """Encode and decode ``audio`` with a broadcast codec, in memory.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32], samples in [-1, 1]
        Mono programme.
    sr : int
        Sample rate in Hz (32000, 44100 or 48000).
    codec : str
        ``"aac"`` (ffmpeg native AAC-LC) or ``"mp3"`` (libmp3lame).
    bitrate_kbps : int
        Total bit rate in kbit/s over all encoded channels (e.g. 128, 192, 256).
    channels : int
        Encoded channels: 2 (stereo with equal channels, the broadcast case) or 1.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Decoded channel 0, aligned with the input and of the same length.

    Raises
    ------
    ChainConfigError
        Unknown codec, sample rate or channel count.
    BroadcastCodecError
        ffmpeg failed.
    """
    if codec not in CODECS:
        raise ChainConfigError(f"unknown broadcast codec {codec!r}; use one of {sorted(CODECS)}")
    if sr not in _RATES:
        raise ChainConfigError(f"codec sample rate {sr} Hz is not supported; use one of {_RATES}")
    if channels not in (1, 2):
        raise ChainConfigError(f"codec channels must be 1 or 2, got {channels}")
    if not 32 <= bitrate_kbps <= 320:
        raise ChainConfigError(f"codec bit rate {bitrate_kbps} kbit/s is outside 32-320")
    x = np.asarray(audio, dtype=np.float32)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    delay = codec_delay_samples(codec, bitrate_kbps, sr, channels)
    y = _encode_decode(x, sr, codec, bitrate_kbps, channels)[delay : delay + n]
    if len(y) < n:
        y = np.concatenate([y, np.zeros(n - len(y), dtype=np.float32)])
    return np.asarray(np.clip(y, -1.0, 1.0), dtype=np.float32)


def codec_response_db(
    codec: str, bitrate_kbps: int, sr: int = 48000, channels: int = 2, seconds: float = 8.0
) -> tuple[np.ndarray, np.ndarray]:
    """Measure a codec setting's magnitude response with white noise at -20 dBFS RMS.

    Parameters
    ----------
    codec, bitrate_kbps, sr, channels
        As in :func:`codec_round_trip`.
    seconds : float
        Length of the noise probe.

    Returns
    -------
    freqs_hz : np.ndarray [shape=(k,), dtype=float64]
    gain_db : np.ndarray [shape=(k,), dtype=float64]
        Output/input power spectral density ratio (Welch, 2048-point segments), dB.
    """
    from scipy.signal import welch

    rng = np.random.default_rng(2026)
    x = (rng.standard_normal(int(seconds * sr)) * 0.1).astype(np.float32)
    y = codec_round_trip(x, sr, codec, bitrate_kbps, channels)
    f, pxx = welch(x, sr, nperseg=2048)
    _, pyy = welch(y, sr, nperseg=2048)
    return f, 10 * np.log10(np.maximum(pyy, 1e-30) / np.maximum(pxx, 1e-30))


def measure_cutoff_hz(
    codec: str, bitrate_kbps: int, sr: int = 48000, channels: int = 2, drop_db: float = 10.0
) -> float:
    """Find a codec setting's cutoff frequency.

    The cutoff is the lowest frequency above 4 kHz where the response falls ``drop_db`` below its
    1-8 kHz median.

    Returns
    -------
    float
        Cutoff in Hz (Nyquist if the response never drops that far).
    """
    f, g = codec_response_db(codec, bitrate_kbps, sr, channels)
    ref = float(np.median(g[(f >= 1000) & (f <= 8000)]))
    below = np.nonzero((f > 4000) & (g < ref - drop_db))[0]
    return float(f[below[0]]) if len(below) else sr / 2
