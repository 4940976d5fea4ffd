"""Audio files: read any programme recording as float32, write WAV/FLAC, stream long files.

WAV/FLAC/OGG (and anything else libsndfile knows) are read through :mod:`soundfile`; compressed
and container formats (MP3, AAC/M4A, MPEG-TS, MP4, ...) through PyAV, decoded to float32 at the
file's native sample rate (never resampled here: the trigger band sits close to Nyquist and a
resampler is the caller's decision). Every failure surfaces as :class:`AudioFileError` saying
which file, what was wrong and what to do.

Raw PCM on stdin (``"-"``) is read by :func:`iter_audio_blocks` when the caller states the
sample rate, channel count and sample type (e.g. ``arecord -f S16_LE -r 48000 -c 1 | ...``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from audio_io.errors import AudioFileError

__all__ = [
    "RAW_DTYPES",
    "AudioInfo",
    "audio_info",
    "iter_audio_blocks",
    "mono",
    "read_audio",
    "write_audio",
]

#: Sample types accepted for raw PCM on stdin, with the scale that maps them to [-1, 1].
RAW_DTYPES: dict[str, float] = {"int16": 32768.0, "int32": 2147483648.0, "float32": 1.0}

#: Suffixes read through libsndfile; everything else goes to PyAV (ffmpeg).
_SNDFILE_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"})

#: write_audio's default subtype per suffix (16-bit like a broadcast master).
_WRITE_SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS"}


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, without decoding it all.

    Attributes
    ----------
    sample_rate : int
        Samples per second (Hz).
    channels : int
        Channel count.
    frames : int
        Length in samples per channel (an estimate from the container for PyAV formats).
    duration_s : float
        ``frames / sample_rate`` in seconds.
    """

    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _check_exists(path: Path) -> None:
    if str(path) == "-":
        return
    if not path.exists():
        raise AudioFileError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty (0 bytes); record or export it again")


def _uses_sndfile(path: Path) -> bool:
    return path.suffix.lower() in _SNDFILE_SUFFIXES


def _as_frames(data: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    arr = np.asarray(data, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    return np.ascontiguousarray(arr)


def _read_sndfile(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        # libsndfile could not parse it: maybe a misnamed compressed file, let ffmpeg try.
        try:
            return _read_av(path)
        except AudioFileError:
            raise AudioFileError(
                f"{path}: not a readable audio file ({exc}); the file may be truncated or "
                "not audio at all - export it again as WAV, FLAC, MP3 or M4A"
            ) from exc
    return _as_frames(data), int(sr)


def _av_frames(path: Path) -> Iterator[tuple[npt.NDArray[np.float32], int]]:
    """Decode with PyAV; yield (block float32 (n, ch), sample_rate). Errors -> AudioFileError."""
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioFileError(
            f"{path}: not a readable audio file ({exc}); export it as WAV, FLAC, MP3 or M4A"
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioFileError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                # planar frames are (channels, n); packed ones interleave all channels in one row
                n_ch = len(frame.layout.channels)
                arr = arr.T if frame.format.is_planar else arr.reshape(-1, n_ch)
                if arr.dtype.kind == "i":
                    arr = arr.astype(np.float32) / float(2 ** (8 * arr.dtype.itemsize - 1))
                elif arr.dtype.kind == "u":  # u8: offset binary
                    arr = (arr.astype(np.float32) - 128.0) / 128.0
                yield _as_frames(arr), int(frame.sample_rate)
        except av.FFmpegError as exc:
            raise AudioFileError(
                f"{path}: decoding failed part-way ({exc}); the file may be truncated"
            ) from exc


def _read_av(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    blocks: list[npt.NDArray[np.float32]] = []
    sr = 0
    for block, rate in _av_frames(path):
        blocks.append(block)
        sr = rate
    if not blocks:
        raise AudioFileError(f"{path}: no audio could be decoded; the file is empty or truncated")
    channels = blocks[0].shape[1]
    return np.concatenate([b[:, :channels] for b in blocks], axis=0), sr


def read_audio(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float32], int]:
    """Read a whole audio file.

    Parameters
    ----------
    path : str or os.PathLike
        WAV/FLAC/OGG (soundfile) or MP3/AAC/M4A/TS/MP4/... (PyAV).

    Returns
    -------
    data : np.ndarray [shape=(n, channels), dtype=float32]
        Samples in [-1, 1] (a float file may exceed that; it is not clipped here).
    sample_rate : int
        The file's native sample rate in Hz (not resampled).

    Raises
    ------
    AudioFileError
        Missing, empty, truncated, not audio, or no samples.
    """
    p = Path(path)
    _check_exists(p)
    data, sr = _read_sndfile(p) if _uses_sndfile(p) else _read_av(p)
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: the file holds no samples")
    return data, sr


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Sample rate, channel count and length of a file, read from its header.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`read_audio` reads.

    Returns
    -------
    AudioInfo
        For PyAV formats ``frames`` is the container's estimate (0 if it has none).

    Raises
    ------
    AudioFileError
        As :func:`read_audio`.
    """
    p = Path(path)
    _check_exists(p)
    if _uses_sndfile(p):
        import soundfile as sf

        try:
            info = sf.info(str(p))
            return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames))
        except (sf.LibsndfileError, RuntimeError, TypeError):
            pass  # fall through to PyAV, which reports the error if it fails too
    import av

    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                raise AudioFileError(f"{p}: the file has no audio stream")
            stream = container.streams.audio[0]
            sr = int(stream.rate or stream.codec_context.sample_rate)
            channels = int(stream.codec_context.channels)
            duration = container.duration / 1e6 if container.duration else 0.0
            return AudioInfo(sr, channels, round(duration * sr))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioFileError(
            f"{p}: not a readable audio file ({exc}); export it as WAV, FLAC, MP3 or M4A"
        ) from exc


def write_audio(
    path: str | os.PathLike[str],
    data: npt.NDArray[Any],
    sample_rate: int,
    subtype: str | None = None,
) -> None:
    """Write a WAV (PCM_16 by default), FLAC (PCM_16) or OGG file, chosen by the suffix.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; parent directory must exist.
    data : np.ndarray [shape=(n,) or (n, channels)], float in [-1, 1] or int16
        Float samples beyond [-1, 1] are clipped by the PCM conversion.
    sample_rate : int
        Hz, > 0.
    subtype : str, optional
        A soundfile subtype (``"PCM_24"``, ``"FLOAT"``) instead of the default.

    Raises
    ------
    AudioFileError
        Unknown suffix, bad sample rate, or the file cannot be written.
    """
    import soundfile as sf

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _WRITE_SUBTYPES:
        raise AudioFileError(
            f"{p}: cannot write {suffix or 'a file without suffix'!r}; use .wav, .flac or .ogg"
        )
    if int(sample_rate) <= 0:
        raise AudioFileError(f"{p}: sample rate {sample_rate} Hz is not positive")
    arr = np.asarray(data)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise AudioFileError(f"{p}: nothing to write (data shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise AudioFileError(f"{p}: data contains NaN or infinity; refusing to write it")
    try:
        sf.write(str(p), arr, int(sample_rate), subtype=subtype or _WRITE_SUBTYPES[suffix])
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise AudioFileError(f"{p}: cannot write the file ({exc})") from exc


def mono(data: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Mix (n, channels) down to (n,) float32 by averaging the channels.

    Parameters
    ----------
    data : np.ndarray [shape=(n,) or (n, channels)]

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    arr = np.asarray(data, dtype=np.float32)
    return arr if arr.ndim == 1 else arr.mean(axis=1, dtype=np.float32)


def _iter_raw(
    stream: IO[bytes], block: int, channels: int, dtype: str
) -> Iterator[npt.NDArray[np.float32]]:
    np_dtype = np.dtype(dtype).newbyteorder("<")
    scale = RAW_DTYPES[dtype]
    frame_bytes = np_dtype.itemsize * channels
    want = block * frame_bytes
    pending = b""
    while True:
        chunk = stream.read(want - len(pending))
        if not chunk:
            break
        pending += chunk
        if len(pending) >= want:
            arr = np.frombuffer(pending[:want], dtype=np_dtype).reshape(-1, channels)
            yield (arr.astype(np.float32) / np.float32(scale)).astype(np.float32)
            pending = pending[want:]
    usable = len(pending) - len(pending) % frame_bytes  # a torn last frame is dropped
    if usable:
        arr = np.frombuffer(pending[:usable], dtype=np_dtype).reshape(-1, channels)
        yield (arr.astype(np.float32) / np.float32(scale)).astype(np.float32)


def iter_audio_blocks(
    source: str | os.PathLike[str] | IO[bytes],
    block: int,
    sample_rate: int | None = None,
    channels: int | None = None,
    dtype: str = "int16",
) -> Iterator[npt.NDArray[np.float32]]:
    """Stream a file (or raw PCM from stdin) in blocks, with bounded memory.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path read like :func:`read_audio`; ``"-"`` (stdin) or a binary stream for raw
        little-endian interleaved PCM, which needs ``sample_rate`` and ``channels``.
    block : int
        Frames per yielded block (> 0); the last block may be shorter (PyAV blocks follow the
        codec's frame size and may differ).
    sample_rate, channels : int, optional
        Required for raw PCM (the caller knows them; they are not in the bytes). For files the
        sample rate is :func:`audio_info` ``(path).sample_rate``; if given, it is checked.
    dtype : {"int16", "int32", "float32"}
        Raw PCM sample type.

    Yields
    ------
    np.ndarray [shape=(m, channels), dtype=float32]
        Samples in [-1, 1].

    Raises
    ------
    AudioFileError
        Bad arguments, unreadable file, or a file whose rate differs from ``sample_rate``.
    """
    if block <= 0:
        raise AudioFileError(f"block size {block} must be a positive number of frames")
    if not isinstance(source, (str, os.PathLike)) or str(source) == "-":
        if sample_rate is None or channels is None:
            raise AudioFileError(
                "raw PCM on stdin has no header: give its sample rate and channel count "
                "(e.g. --sample-rate 48000 --channels 1)"
            )
        if dtype not in RAW_DTYPES:
            raise AudioFileError(f"raw PCM sample type {dtype!r} unknown; use {list(RAW_DTYPES)}")
        if channels <= 0:
            raise AudioFileError(f"channel count {channels} must be positive")
        stream: IO[bytes] = sys.stdin.buffer if isinstance(source, (str, os.PathLike)) else source
        yield from _iter_raw(stream, block, channels, dtype)
        return
    p = Path(source)
    _check_exists(p)
    if _uses_sndfile(p):
        import soundfile as sf

        try:
            handle = sf.SoundFile(str(p))
        except (sf.LibsndfileError, RuntimeError, TypeError):
            handle = None  # not what the suffix says: let PyAV try below
        if handle is not None:
            with handle:
                if sample_rate is not None and handle.samplerate != sample_rate:
                    raise AudioFileError(
                        f"{p}: sample rate is {handle.samplerate} Hz, expected {sample_rate} Hz"
                    )
                got_any = False
                try:
                    for data in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                        got_any = got_any or len(data) > 0
                        yield _as_frames(data)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioFileError(f"{p}: reading failed part-way ({exc})") from exc
                if not got_any:
                    raise AudioFileError(f"{p}: the file holds no samples")
            return
    got = False
    for data, rate in _av_frames(p):
        if sample_rate is not None and rate != sample_rate:
            raise AudioFileError(f"{p}: sample rate is {rate} Hz, expected {sample_rate} Hz")
        got = True
        yield data
    if not got:
        raise AudioFileError(f"{p}: no audio could be decoded; the file is empty or truncated")
