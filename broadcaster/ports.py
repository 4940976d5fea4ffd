"""Where programme audio comes from and goes to: files, stdin/stdout raw PCM, sound devices.

Raw PCM (``--input -`` / ``--output -``): interleaved little-endian samples, format
``--pcm-format s16le|f32le`` (default s16le), rate ``--pcm-rate`` (default 48000) and channels
``--pcm-channels`` (default 1); the output uses the same format, rate and channels, e.g.
``ffmpeg -i in.ts -f s16le -ar 48000 -ac 2 - | jimaku broadcast --input - --pcm-channels 2 ...``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from broadcaster.errors import DeviceError, DeviceNotFound, InputFormatError

__all__ = [
    "DeviceSink",
    "DeviceSource",
    "FileSink",
    "FileSource",
    "RawSink",
    "RawSource",
    "Sink",
    "Source",
]

_DTYPES: dict[str, np.dtype[Any]] = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}


def _read_audio(path: str) -> tuple[np.ndarray, int]:
    """Read a whole file through :func:`audio_io.read_audio` (errors -> InputFormatError)."""
    from audio_io import AudioFileError, read_audio

    try:
        data, rate = read_audio(path)
    except AudioFileError as exc:
        raise InputFormatError(str(exc)) from exc
    return np.asarray(data), int(rate)


def _devices() -> Any:
    """audio_io's device API (``InputStream``, ``OutputStream``, ``AudioDeviceError`` ...)."""
    import audio_io

    return audio_io


class Source:
    """Programme input: blocks of shape (n, channels), float32 in [-1, 1]."""

    sample_rate_hz: int
    channels: int
    #: True for a live source (a sound device): the programme must never wait for recognition.
    realtime: bool = False

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield blocks until the input ends."""
        raise NotImplementedError

    def drain(self) -> Iterator[np.ndarray]:
        """When stopping: stop taking input, yield what was already recorded but not read."""
        return iter(())

    def close(self) -> None:
        """Release the input."""


class Sink:
    """Programme output."""

    def write(self, block: np.ndarray) -> None:
        """Write one block of shape (n, channels)."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release the output."""


class FileSource(Source):
    """A WAV/FLAC (or anything :func:`audio_io.read_audio` reads), any rate, mono or stereo.

    Raises
    ------
    InputFormatError
        Unreadable or empty file.
    """

    def __init__(self, path: str, block_s: float) -> None:
        data, rate = _read_audio(path)
        data = np.asarray(data, np.float32)
        if data.ndim == 1:
            data = data[:, None]
        if len(data) == 0:
            raise InputFormatError(
                f"input file {path!r} has no audio samples; give a recording with programme audio"
            )
        self.data = data
        self.sample_rate_hz = int(rate)
        self.channels = int(data.shape[1])
        self.block = max(1, round(block_s * self.sample_rate_hz))

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the file in blocks of ``block_s``."""
        for i in range(0, len(self.data), self.block):
            yield self.data[i : i + self.block]


class RawSource(Source):
    """Raw interleaved PCM from a binary stream (stdin)."""

    def __init__(self, stream: BinaryIO, rate: int, channels: int, fmt: str, block_s: float):
        if fmt not in _DTYPES:
            raise InputFormatError(f"PCM format {fmt!r} is unknown; use s16le or f32le")
        if channels < 1 or rate < 1:
            raise InputFormatError(f"bad raw PCM layout: {rate} Hz, {channels} channels")
        self.stream = stream
        self.sample_rate_hz = rate
        self.channels = channels
        self.dtype = _DTYPES[fmt]
        self.frame_bytes = self.dtype.itemsize * channels
        self.block = max(1, round(block_s * rate))

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield blocks as they arrive; a trailing partial frame is dropped."""
        total = 0
        while True:
            raw = self.stream.read(self.block * self.frame_bytes)
            if not raw:
                break
            usable = len(raw) - len(raw) % self.frame_bytes
            x = np.frombuffer(raw[:usable], self.dtype).reshape(-1, self.channels)
            total += len(x)
            if self.dtype.kind == "i":
                yield (x.astype(np.float32) / 32768.0)
            else:
                yield x.astype(np.float32)
        if total == 0:
            raise InputFormatError(
                "standard input ended without any audio; pipe raw PCM into `--input -`"
            )


#: Recorded audio a device source holds for a reader that fell behind (s): a reader late by less
#: loses nothing (beyond it blocks are dropped and counted as xruns); 10 s of float32 audio is
#: under 4 MB even in stereo at 48 kHz.
DEVICE_QUEUE_S = 10.0


class DeviceSource(Source):
    """A sound device through :class:`audio_io.InputStream` (callbacks only queue blocks)."""

    realtime = True

    def __init__(self, device: int | str | None, rate: int, channels: int, blocksize: int):
        aio = _devices()
        AudioDeviceError, InputStream = aio.AudioDeviceError, aio.InputStream
        self.device, self.sample_rate_hz, self.channels = device, rate, channels
        self.blocksize = blocksize
        try:
            self.stream: Any = InputStream(
                device=device,
                samplerate=rate,
                channels=channels,
                blocksize=blocksize,
                queue_blocks=max(1, math.ceil(DEVICE_QUEUE_S * rate / max(blocksize, 1))),
            )
        except aio.AudioDeviceNotFound as exc:
            raise DeviceNotFound(str(exc)) from exc
        except AudioDeviceError as exc:
            raise DeviceError(str(exc)) from exc

    @property
    def xruns(self) -> int:
        """Driver overflows plus blocks dropped because the reader fell behind."""
        return int(self.stream.xruns + self.stream.overflows)

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield recorded blocks until stopped; a vanished device raises :class:`DeviceError`."""
        AudioDeviceError = _devices().AudioDeviceError
        # started only now, when the engine is ready: no overflow while the model loads
        try:
            self.stream.start()
        except AudioDeviceError as exc:
            raise DeviceError(str(exc)) from exc
        while True:
            try:
                block = self.stream.read(timeout=1.0)
            except AudioDeviceError as exc:
                raise DeviceError(str(exc)) from exc
            if block is None:
                if not self.stream.active:
                    return
                continue
            yield block

    def drain(self) -> Iterator[np.ndarray]:
        """Stop recording; yield the blocks the device delivered that were not read yet."""
        self.stream.stop()
        while (block := self.stream.read(timeout=0)) is not None:
            yield block

    def close(self) -> None:
        """Stop recording."""
        self.stream.close()


class FileSink(Sink):
    """Write WAV (16-bit PCM) or FLAC by suffix, block by block."""

    def __init__(self, path: str, rate: int, channels: int) -> None:
        import soundfile as sf

        suffix = Path(path).suffix.lower()
        fmt = {".wav": "WAV", ".flac": "FLAC"}.get(suffix)
        if fmt is None:
            raise InputFormatError(
                f"output file {path!r}: unsupported suffix {suffix!r}; use .wav or .flac"
            )
        try:
            self.f = sf.SoundFile(
                path, "w", samplerate=rate, channels=channels, format=fmt, subtype="PCM_16"
            )
        except (sf.LibsndfileError, OSError) as exc:
            raise InputFormatError(f"cannot write output file {path!r}: {exc}") from exc

    def write(self, block: np.ndarray) -> None:
        """Append a block."""
        self.f.write(block)

    def close(self) -> None:
        """Finish the file."""
        self.f.close()


class RawSink(Sink):
    """Raw interleaved PCM to a binary stream (stdout), same layout as the input format."""

    def __init__(self, stream: BinaryIO, fmt: str) -> None:
        if fmt not in _DTYPES:
            raise InputFormatError(f"PCM format {fmt!r} is unknown; use s16le or f32le")
        self.stream, self.dtype = stream, _DTYPES[fmt]

    def write(self, block: np.ndarray) -> None:
        """Write a block."""
        if self.dtype.kind == "i":
            data = np.round(np.clip(block, -1.0, 32767 / 32768) * 32768.0).astype(self.dtype)
        else:
            data = block.astype(self.dtype)
        self.stream.write(data.tobytes())

    def close(self) -> None:
        """Flush."""
        self.stream.flush()


class DeviceSink(Sink):
    """A sound device through :class:`audio_io.OutputStream`."""

    def __init__(self, device: int | str | None, rate: int, channels: int, blocksize: int):
        aio = _devices()
        AudioDeviceError, OutputStream = aio.AudioDeviceError, aio.OutputStream
        try:
            self.stream: Any = OutputStream(
                device=device, samplerate=rate, channels=channels, blocksize=blocksize
            )
            self.stream.start()
        except aio.AudioDeviceNotFound as exc:
            raise DeviceNotFound(str(exc)) from exc
        except AudioDeviceError as exc:
            raise DeviceError(str(exc)) from exc

    @property
    def xruns(self) -> int:
        """Driver underflows plus blocks played as silence because the writer was late."""
        return int(self.stream.xruns + self.stream.overflows)

    def write(self, block: np.ndarray) -> None:
        """Queue a block for playing."""
        AudioDeviceError = _devices().AudioDeviceError

        try:
            self.stream.write(block)
        except AudioDeviceError as exc:
            raise DeviceError(str(exc)) from exc

    def close(self) -> None:
        """Stop playing."""
        self.stream.close()


def stdin_binary() -> BinaryIO:
    """Return standard input as a binary stream."""
    return sys.stdin.buffer


def stdout_binary() -> BinaryIO:
    """Return standard output as a binary stream."""
    return sys.stdout.buffer
