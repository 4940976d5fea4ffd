"""Decode every trigger in an audio file, streaming it block by block (bounded memory).

Any length of file is read in ``OfflineSettings.block_frames`` blocks through
:func:`audio_io.iter_audio_blocks` (soundfile for WAV/FLAC/OGG, PyAV for MP3/AAC/M4A/TS/MP4),
mixed down to mono and fed to one :class:`trigger_codec.Decoder`; the decoder's time base is the
file's first sample.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from audio_io import AudioFileError, audio_info, iter_audio_blocks, mono
from jimaku.offline.errors import InputError
from jimaku.offline.plot import BandSpectrogram
from jimaku.offline.settings import OfflineSettings
from trigger_codec import CodecError, Decoder, Detection

__all__ = ["DecodeResult", "ProgressCallback", "decode_file", "open_decoder"]

#: called after each block with (frames decoded so far, total frames or 0 if unknown)
ProgressCallback = Callable[[int, int], None]


@dataclass
class DecodeResult:
    """What :func:`decode_file` found in one file.

    Attributes
    ----------
    path : str
        The file as given.
    sample_rate : int
        Hz.
    channels : int
        Channels in the file (mixed down to mono before decoding).
    frames : int
        Frames decoded (per channel).
    detections : list of trigger_codec.Detection
        In the order the decoder returned them (by time); ``start_s`` in seconds from the
        file's first sample.
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    detections: list[Detection] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Decoded length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def open_decoder(path: str | os.PathLike[str]) -> tuple[Decoder, int, int, int]:
    """Check a file's header and make a decoder for its sample rate.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`audio_io.read_audio` reads.

    Returns
    -------
    decoder : trigger_codec.Decoder
    sample_rate : int
        Hz.
    channels : int
    frames : int
        Frames per channel according to the header (0 if the container does not say).

    Raises
    ------
    InputError
        Missing/empty/unreadable file, or a sample rate no trigger profile can be heard at.
    """
    try:
        info = audio_info(path)
    except AudioFileError as exc:
        raise InputError(str(exc)) from exc
    if info.sample_rate <= 0:
        raise InputError(f"{path}: the file does not state a sample rate; export it again")
    try:
        decoder = Decoder(info.sample_rate)
    except CodecError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return decoder, info.sample_rate, info.channels, info.frames


def decode_file(
    path: str | os.PathLike[str],
    settings: OfflineSettings | None = None,
    spectrogram: BandSpectrogram | None = None,
    progress: ProgressCallback | None = None,
) -> DecodeResult:
    """Decode every trigger in one audio file.

    Parameters
    ----------
    path : str or os.PathLike
        WAV/FLAC/OGG or MP3/AAC/M4A/TS/MP4; stereo (or more channels) is averaged to mono.
    settings : OfflineSettings, optional
        Block size (defaults otherwise).
    spectrogram : BandSpectrogram, optional
        If given, every mono block is also fed to it (for ``--plot``); it must have been made
        for the file's sample rate (see :func:`open_decoder`).
    progress : callable, optional
        ``progress(frames_done, frames_total)`` after each block.

    Returns
    -------
    DecodeResult
        Empty ``detections`` if the file holds no trigger (not an error).

    Raises
    ------
    InputError
        The file is missing, empty, not audio, at an unusable sample rate, or holds a NaN or
        infinite sample (then ``exc.partial`` holds the detections found before it).
    """
    cfg = settings or OfflineSettings()
    decoder, sr, channels, total = open_decoder(path)
    result = DecodeResult(str(path), sr, channels, 0)
    try:
        for block in iter_audio_blocks(path, cfg.block_frames, sample_rate=sr):
            x = mono(block)
            bad = np.flatnonzero(~np.isfinite(x))
            if bad.size:
                at = result.frames + int(bad[0])
                result.detections += decoder.feed(x[: int(bad[0])])
                result.detections += decoder.flush()
                raise InputError(
                    f"{path}: sample {at} (t = {at / sr:.3f} s) is not a finite number "
                    f"(NaN or infinity); the file is corrupt - export it again",
                    partial=result.detections,
                )
            result.detections += decoder.feed(x)
            if spectrogram is not None:
                spectrogram.feed(x)
            result.frames += x.shape[0]
            if progress is not None:
                progress(result.frames, max(total, result.frames))
    except AudioFileError as exc:
        raise InputError(str(exc), partial=result.detections) from exc
    except CodecError as exc:  # the decoder refused a block it should not have been given
        raise InputError(f"{path}: {exc}", partial=result.detections) from exc
    result.detections += decoder.flush()
    return result
