"""``jimaku encode``: write one trigger (optionally padded with silence) to a WAV/FLAC file."""

from __future__ import annotations

import os

import numpy as np

from audio_io import AudioFileError, write_audio
from jimaku.offline.errors import ArgumentError
from trigger_codec import CodecError, encode

__all__ = ["encode_file"]


def encode_file(
    path: str | os.PathLike[str],
    channel: int,
    seq: int,
    profile: str = "hf",
    sample_rate: int = 48000,
    pad_s: float = 0.0,
) -> int:
    """Encode one trigger and write it as a mono 16-bit WAV or FLAC file.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, ``.wav`` or ``.flac``.
    channel : int
        0..4095.
    seq : int
        0..1,048,575.
    profile : str
        ``"hf"`` or ``"robust"``.
    sample_rate : int
        Hz (44100 or 48000; any multiple of 50 Hz whose Nyquist is above the band).
    pad_s : float
        Seconds of silence written before and after the trigger (>= 0).

    Returns
    -------
    int
        Frames written.

    Raises
    ------
    ArgumentError
        Channel/seq out of range, unknown profile, unusable sample rate (the codec's
        :class:`trigger_codec.ParameterError`, mapped), negative padding, or the file cannot be
        written (bad suffix, missing directory).
    """
    if not pad_s >= 0:
        raise ArgumentError(f"padding {pad_s} s must be >= 0 seconds")
    try:
        wave = encode(channel, seq, sample_rate, profile)
    except CodecError as exc:
        raise ArgumentError(str(exc)) from exc
    pad = np.zeros(round(pad_s * sample_rate), dtype=np.float32)
    data = np.concatenate([pad, wave, pad])
    try:
        write_audio(path, data, sample_rate)
    except AudioFileError as exc:
        raise ArgumentError(str(exc)) from exc
    return int(data.size)
