"""Sound devices: thin sounddevice wrappers whose callbacks only hand blocks off.

The PortAudio callback runs on a real-time audio thread. Whatever it does late is heard (output)
or lost (input), so the callbacks here only copy the block into a bounded queue and count what
went wrong (PortAudio over/underflows, a full queue); decoding, recognition and file writing run
in the consumer's thread. This follows python-sounddevice's own examples.

``sounddevice`` is imported lazily, inside the functions that need it, so :mod:`audio_io` imports
(and reads files) on a machine without PortAudio. Every PortAudio problem — the library missing,
a device that does not exist, a device that goes away while streaming — surfaces as
:class:`audio_io.errors.AudioDeviceError` with a message that says what to do.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from audio_io.errors import AudioDeviceError, AudioDeviceNotFound

__all__ = [
    "AudioDeviceError",
    "AudioDeviceNotFound",
    "DeviceInfo",
    "InputStream",
    "OutputStream",
    "list_devices",
]

#: Lowest rate accepted at all (the trigger band itself needs 44.1 or 48 kHz).
_MIN_RATE_HZ = 8000
#: Seconds an input stream may take to deliver its first block before it counts as stalled.
_STARTUP_S = 6.0


def _sd() -> ModuleType:
    """Import sounddevice, mapping 'PortAudio not installed' to :class:`AudioDeviceError`."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise AudioDeviceError(
            f"cannot use sound devices: {exc}; install PortAudio "
            "(Debian: apt-get install libportaudio2) or read from a file instead"
        ) from exc
    module: ModuleType = sounddevice
    return module


def _map_error(
    exc: BaseException,
    what: str,
    device: int | str | None,
    kind: type[AudioDeviceError] = AudioDeviceError,
) -> AudioDeviceError:
    """Turn a sounddevice/PortAudio error into a ``kind`` (an AudioDeviceError) with advice."""
    dev = "the default device" if device is None else f"device {device!r}"
    return kind(
        f"{what} on {dev} failed: {exc}; list the devices with `jimaku receive --list-devices` "
        "(or sounddevice's `python -m sounddevice`) and pick one that exists, or check that the "
        "sound server (PulseAudio/PipeWire) is running"
    )


@dataclass(frozen=True)
class DeviceInfo:
    """One sound device as PortAudio sees it.

    Attributes
    ----------
    index : int
        PortAudio device index (what ``--input-device`` accepts, as does a name substring).
    name : str
        Device name.
    hostapi : str
        Host API name (ALSA, JACK, ...).
    max_input_channels, max_output_channels : int
        Channel counts; 0 means the device cannot record (or play).
    default_samplerate_hz : float
        The device's preferred sample rate in Hz.
    is_default_input, is_default_output : bool
        Whether this is the system's default input (output) device.
    """

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate_hz: float
    is_default_input: bool
    is_default_output: bool


def list_devices() -> list[DeviceInfo]:
    """List the sound devices PortAudio can open.

    Returns
    -------
    list of DeviceInfo
        Every device, in PortAudio index order; empty when there are none.

    Raises
    ------
    AudioDeviceError
        PortAudio is not installed or cannot be queried.
    """
    sd = _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except (sd.PortAudioError, ValueError) as exc:
        raise _map_error(exc, "listing devices", None) from exc
    result = []
    for d in devices:
        result.append(
            DeviceInfo(
                index=int(d["index"]),
                name=str(d["name"]),
                hostapi=str(hostapis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate_hz=float(d["default_samplerate"]),
                is_default_input=int(d["index"]) == default_in,
                is_default_output=int(d["index"]) == default_out,
            )
        )
    return result


def _check_args(samplerate: int, channels: int, blocksize: int, queue_blocks: int) -> None:
    if samplerate < _MIN_RATE_HZ:
        raise AudioDeviceError(f"sample rate {samplerate} Hz is too low; use 44100 or 48000 Hz")
    if channels < 1:
        raise AudioDeviceError(f"channels must be >= 1, got {channels}")
    if blocksize < 1:
        raise AudioDeviceError(f"blocksize must be >= 1 frame, got {blocksize}")
    if queue_blocks < 1:
        raise AudioDeviceError(f"queue_blocks must be >= 1, got {queue_blocks}")


class _StreamBase:
    """What input and output streams share: open/start/stop/close and error state."""

    def __init__(
        self,
        device: int | str | None,
        samplerate: int,
        channels: int,
        blocksize: int,
        queue_blocks: int,
    ) -> None:
        _check_args(samplerate, channels, blocksize, queue_blocks)
        self.device = device
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.blocksize = int(blocksize)
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=queue_blocks)
        self._stream: Any = None
        self._stopping = False
        self._finished = threading.Event()
        #: PortAudio reported an input overflow / output underflow (data lost in the driver).
        self.xruns = 0
        #: Blocks lost because the consumer did not keep up (input) or had nothing ready (output).
        self.overflows = 0

    def _open(self, kind: str, callback: Any) -> None:
        sd = _sd()
        cls = sd.InputStream if kind == "input" else sd.OutputStream
        if self.device is not None:
            # Asked first, so that a device that is not there is told apart from one that
            # refused: the first is a typo to report at once, the second worth retrying.
            try:
                sd.query_devices(self.device, kind)
            except (sd.PortAudioError, ValueError) as exc:
                what = f"opening {kind} stream"
                raise _map_error(exc, what, self.device, AudioDeviceNotFound) from exc
        try:
            self._stream = cls(
                samplerate=self.samplerate,
                blocksize=self.blocksize,
                device=self.device,
                channels=self.channels,
                dtype="float32",
                callback=callback,
                finished_callback=self._finished.set,
            )
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            # ValueError: "No input device matching 'x'"; PortAudioError: the device refused.
            raise _map_error(exc, f"opening {kind} stream", self.device) from exc

    def start(self) -> None:
        """Start streaming.

        Raises
        ------
        AudioDeviceError
            PortAudio refused to start the stream.
        """
        sd = _sd()
        self._stopping = False
        self._finished.clear()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            raise _map_error(exc, "starting stream", self.device) from exc

    def stop(self) -> None:
        """Stop streaming (pending input blocks stay readable)."""
        self._stopping = True
        if self._stream is not None:
            # A vanished device cannot be stopped; there is nothing left to do then.
            with contextlib.suppress(Exception):
                self._stream.stop()

    def close(self) -> None:
        """Stop and release the device."""
        self.stop()
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None

    @property
    def active(self) -> bool:
        """Whether the stream is running (False after stop, or when the device went away)."""
        return self._stream is not None and bool(self._stream.active)

    def __enter__(self) -> _StreamBase:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InputStream(_StreamBase):
    """Record from a sound device into a bounded queue of blocks.

    Parameters
    ----------
    device : int or str or None
        PortAudio device index, a substring of its name, or None for the default input.
    samplerate : int
        Sample rate in Hz (44100 or 48000 for the trigger band).
    channels : int
        Channels to record; blocks have shape (blocksize, channels).
    blocksize : int
        Frames per callback.
    queue_blocks : int
        Blocks the queue holds; when the consumer falls further behind, new blocks are dropped and
        counted in :attr:`overflows` (the callback must never block).
    stall_s : float
        :meth:`read` raises :class:`AudioDeviceError` when no block has arrived for this long
        while the stream should be running (a device that vanished without PortAudio noticing).

    Raises
    ------
    AudioDeviceError
        Bad parameters, no PortAudio, or the device cannot be opened.
    """

    def __init__(
        self,
        device: int | str | None = None,
        samplerate: int = 48000,
        channels: int = 1,
        blocksize: int = 1024,
        queue_blocks: int = 64,
        stall_s: float = 3.0,
    ) -> None:
        super().__init__(device, samplerate, channels, blocksize, queue_blocks)
        self.stall_s = float(stall_s)
        self._last_block_t = time.monotonic()
        self._got_first = False
        self.frames_read = 0
        self._open("input", self._callback)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy, enqueue without blocking, count. No logging, no decoding.
        if status.input_overflow:
            self.xruns += 1
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self.overflows += 1
        self._last_block_t = time.monotonic()
        self._got_first = True

    def start(self) -> None:
        """Start recording (see :meth:`_StreamBase.start`)."""
        self._last_block_t = time.monotonic()
        super().start()

    def read(self, timeout: float | None = 1.0) -> np.ndarray | None:
        """Take the next recorded block.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait for a block; None waits for ever (bounded by ``stall_s`` checks).

        Returns
        -------
        np.ndarray [shape=(blocksize, channels), dtype=float32] or None
            The block, samples in [-1, 1]; None when nothing arrived within ``timeout`` or the
            stream was stopped and the queue is empty.

        Raises
        ------
        AudioDeviceError
            The device stopped delivering audio while the stream should be running (unplugged,
            sound server gone).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            try:
                block = self._queue.get(timeout=wait)
            except queue.Empty:
                pass
            else:
                self.frames_read += len(block)
                return block
            if self._stopping:
                return None
            now = time.monotonic()
            # The first connection to a sound server can take ~2 s (measured with PulseAudio
            # through the ALSA pulse plugin), so the watchdog is looser until audio has flowed.
            limit = self.stall_s if self._got_first else max(self.stall_s, _STARTUP_S)
            if self._finished.is_set() or now - self._last_block_t > limit:
                why = (
                    "the stream ended"
                    if self._finished.is_set()
                    else f"no audio for {now - self._last_block_t:.1f} s"
                )
                raise AudioDeviceError(
                    f"input device {self.device if self.device is not None else '(default)'!r} "
                    f"stopped delivering audio ({why}); it was unplugged or the sound server "
                    "stopped — reconnect it and start again, or pick another with --input-device"
                )
            if deadline is not None and now >= deadline:
                return None


class OutputStream(_StreamBase):
    """Play blocks written from any thread through a sound device.

    :meth:`write` cuts the audio into ``blocksize`` chunks and queues them (blocking when the queue
    is full, which paces the writer to the device); the callback copies one chunk per call, or
    silence when none is ready (counted in :attr:`overflows` as an underrun of the writer).

    Parameters
    ----------
    device : int or str or None
        PortAudio device index, a substring of its name, or None for the default output.
    samplerate : int
        Sample rate in Hz.
    channels : int
        Output channels.
    blocksize : int
        Frames per callback.
    queue_blocks : int
        Chunks queued ahead of the device (latency = queue_blocks * blocksize / samplerate).

    Raises
    ------
    AudioDeviceError
        Bad parameters, no PortAudio, or the device cannot be opened.
    """

    def __init__(
        self,
        device: int | str | None = None,
        samplerate: int = 48000,
        channels: int = 1,
        blocksize: int = 1024,
        queue_blocks: int = 16,
    ) -> None:
        super().__init__(device, samplerate, channels, blocksize, queue_blocks)
        self._pending = np.zeros((0, self.channels), dtype=np.float32)
        self._writing = False
        self.frames_played = 0
        self._open("output", self._callback)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy one ready chunk or play silence. No allocation beyond get.
        if status.output_underflow:
            self.xruns += 1
        try:
            chunk = self._queue.get_nowait()
        except queue.Empty:
            outdata.fill(0)
            if self._writing:  # silence between writes is a writer that fell behind
                self.overflows += 1
            return
        outdata[:] = chunk
        self.frames_played += frames

    def write(self, data: np.ndarray, timeout: float | None = 10.0) -> None:
        """Queue audio for playing.

        Parameters
        ----------
        data : np.ndarray [shape=(n,) or (n, channels)], samples in [-1, 1]
            Audio to play; any length (a remainder shorter than a block waits for the next write
            or :meth:`drain`).
        timeout : float or None
            Seconds to wait for room in the queue per chunk.

        Raises
        ------
        AudioDeviceError
            Wrong channel count, or the device stopped taking audio within ``timeout``.
        """
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != self.channels:
            raise AudioDeviceError(
                f"audio of shape {np.shape(data)} does not fit a {self.channels}-channel output "
                f"stream; pass shape (n,) or (n, {self.channels})"
            )
        self._writing = True
        buf = np.concatenate([self._pending, arr]) if len(self._pending) else arr
        n_full = len(buf) // self.blocksize
        for i in range(n_full):
            chunk = np.ascontiguousarray(buf[i * self.blocksize : (i + 1) * self.blocksize])
            self._put(chunk, timeout)
        self._pending = buf[n_full * self.blocksize :].copy()

    def _put(self, chunk: np.ndarray, timeout: float | None) -> None:
        try:
            self._queue.put(chunk, timeout=timeout)
        except queue.Full as exc:
            raise AudioDeviceError(
                f"output device {self.device if self.device is not None else '(default)'!r} "
                f"took no audio for {timeout} s; it was unplugged or the sound server stopped"
            ) from exc

    def drain(self, timeout: float | None = 10.0) -> None:
        """Pad the last partial block with silence, queue it, and wait until all has played.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait for the queue to empty.

        Raises
        ------
        AudioDeviceError
            The device stopped playing before the queue emptied.
        """
        if len(self._pending):
            pad = np.zeros((self.blocksize - len(self._pending), self.channels), np.float32)
            self._put(np.concatenate([self._pending, pad]), timeout)
            self._pending = np.zeros((0, self.channels), dtype=np.float32)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._queue.empty():
            if deadline is not None and time.monotonic() > deadline:
                raise AudioDeviceError(
                    f"output device {self.device!r} stopped playing; {self._queue.qsize()} "
                    "blocks were never played"
                )
            time.sleep(0.01)
        self._writing = False
        # The last chunk has been handed to PortAudio; let its buffer play out.
        time.sleep(2 * self.blocksize / self.samplerate)
