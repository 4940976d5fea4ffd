"""Where the receiver's audio comes from: a microphone, a recording file, or stdin.

Every source is an iterator of mono float32 blocks plus the sample rate; the decoding worker pulls
from it. The microphone source reads from :class:`audio_io.InputStream`, whose PortAudio callback
only queues blocks (decoding never runs on the audio thread).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from receiver_app.errors import AudioDeviceError, AudioInputError

__all__ = ["AudioSource", "DeviceSource", "FileSource", "to_mono"]


class AudioSource(Protocol):
    """Mono float32 blocks at :attr:`sample_rate`."""

    sample_rate: int

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield blocks, shape (n,), float32, in [-1, 1]; returns at end of input."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels.

    Parameters
    ----------
    data : np.ndarray [shape=(n,) or (n, channels)]
        Audio.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Mono audio.
    """
    arr = np.asarray(data, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr.mean(axis=1, dtype=np.float32) if arr.shape[1] > 1 else arr[:, 0]
    return np.ascontiguousarray(arr, dtype=np.float32)


def _read_stdin() -> tuple[np.ndarray, int]:
    import soundfile

    raw = sys.stdin.buffer.read()
    if not raw:
        raise AudioInputError("stdin is empty; pipe a WAV/FLAC recording into `--input -`")
    try:
        data, sr = soundfile.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioInputError(
            f"stdin ({len(raw)} bytes) is not a WAV/FLAC/OGG recording: {exc}; "
            "pipe a WAV file, or pass --input FILE for MP3/AAC"
        ) from exc
    return data, int(sr)


def _read_file(p: Path) -> tuple[np.ndarray, int]:
    from audio_io import AudioFileError, read_audio

    try:
        data, sr = read_audio(p)
    except AudioFileError as exc:
        raise AudioInputError(f"cannot read input {str(p)!r}: {exc}") from exc
    return data, int(sr)


@dataclass
class FileSource:
    """A recording, paced in real time (as if heard live) or as fast as possible.

    Parameters
    ----------
    path : str
        File path, or ``"-"`` for a WAV/FLAC on stdin.
    block_frames : int
        Frames per block.
    realtime : bool
        Pace blocks to the wall clock (:attr:`start_wall` is when stream time 0 was "heard").
    """

    path: str
    block_frames: int = 2048
    realtime: bool = True

    def __post_init__(self) -> None:
        if self.path == "-":
            data, sr = _read_stdin()
        else:
            p = Path(self.path)
            if not p.exists():
                raise AudioInputError(
                    f"input file {self.path!r} does not exist; pass a recording, '-' for "
                    "stdin, or use --input-device for a microphone"
                )
            data, sr = _read_file(p)
        self._data = to_mono(data)
        self.sample_rate = int(sr)
        self.start_wall: float | None = None
        self.duration_s = len(self._data) / self.sample_rate

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the recording block by block (sleeping between blocks when real-time)."""
        t0 = time.monotonic()
        self.start_wall = time.time()
        n = len(self._data)
        for start in range(0, n, self.block_frames):
            end = min(n, start + self.block_frames)
            if self.realtime:
                # A block can be "heard" only once its last sample has been played.
                due = t0 + end / self.sample_rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self._data[start:end]

    def close(self) -> None:
        """Nothing to release."""


class DeviceSource:
    """A microphone through :class:`audio_io.InputStream`.

    Parameters
    ----------
    device : int or str or None
        PortAudio device index or name substring; None for the default input.
    sample_rate : int
        44100 or 48000 Hz.
    block_frames : int
        Frames per block.

    Raises
    ------
    AudioDeviceError
        The device cannot be opened (the message names it and says what to do).
    """

    def __init__(self, device: int | str | None, sample_rate: int, block_frames: int) -> None:
        from audio_io.devices import AudioDeviceError as IoDeviceError
        from audio_io.devices import InputStream

        self._io_error = IoDeviceError
        self.sample_rate = int(sample_rate)
        self.start_wall: float | None = None
        self._stop = False
        try:
            self._stream = InputStream(
                device=device,
                samplerate=sample_rate,
                channels=1,
                blocksize=block_frames,
                queue_blocks=max(8, int(4 * sample_rate / block_frames)),
            )
        except IoDeviceError as exc:
            raise AudioDeviceError(str(exc)) from exc

    @property
    def overflows(self) -> int:
        """Blocks lost because decoding fell behind, plus driver overruns."""
        return int(self._stream.overflows + self._stream.xruns)

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield blocks until :meth:`close` (raises AudioDeviceError if the device vanishes)."""
        try:
            self._stream.start()
            self.start_wall = time.time()
            while not self._stop:
                block = self._stream.read(timeout=0.5)
                if block is not None:
                    yield block[:, 0]
        except self._io_error as exc:
            raise AudioDeviceError(str(exc)) from exc

    def close(self) -> None:
        """Stop listening and release the device."""
        self._stop = True
        self._stream.close()
