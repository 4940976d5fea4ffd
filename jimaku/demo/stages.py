"""Run the chain's stages: the broadcaster and receiver as their commands, the room in-process.

The broadcaster and the receiver run as ``jimaku broadcast`` / ``jimaku receive`` subprocesses with
``--json`` (exactly what an operator or a test engineer would type); their JSON lines are read as
they come (for the progress display) and kept in a log file. The living room is
:mod:`channel_sim`'s preset, applied in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jimaku.demo.archive_proc import jimaku_command
from jimaku.demo.errors import ComponentMissing, StageFailed
from jimaku.demo.events import read_jsonl_events

__all__ = [
    "PHONE_RATE_HZ",
    "RECEIVER_STALE_AFTER_S",
    "ROOM_PRESET",
    "EventCallback",
    "JsonlProcess",
    "JsonlRun",
    "broadcaster_args",
    "check_room",
    "demo_rooms",
    "feed_in_real_time",
    "receiver_args",
    "room_presets",
    "run_broadcaster",
    "run_jsonl_process",
    "run_receiver",
    "simulate_room",
]

#: The phone microphone's sample rate (the issue's living room records at 44.1 kHz).
PHONE_RATE_HZ = 44100
#: The demo's default room: ``near-tv`` (below). channel_sim's ``living-room`` preset (RT60 0.4 s,
#: 2.5 m) is the issue's room, but the trigger codec does not yet get through it reliably
#: (measured 28 Nov: codec of 07:20, 0 of 14 airings; codec 057bc9d with 20 ms symbols, 14 of 28
#: airings and 6 of 11 captions in the first minute of the bench programme; ``near-tv``: all), so
#: the demo uses the room it works in today and says so; ``--room living-room`` shows the other.
ROOM_PRESET = "near-tv"


def demo_rooms() -> dict[str, Any]:
    """Rooms the demo defines on top of ``channel_sim.PRESETS`` (name -> ``channel_sim.Chain``).

    ``near-tv``: the living-room chain (AAC 192k, TV speaker, pink noise at 10 dB in-band SNR,
    phone mic at 44.1 kHz with a random clock error, AGC, 16 bit) with the phone 1 m from the TV
    in a well-damped room (RT60 0.2 s).
    """
    from channel_sim import Agc, BroadcastCodec, Chain, Mic, Noise, Quantise, Room, Speaker

    return {
        "near-tv": Chain(
            (
                BroadcastCodec("aac", 192),
                Speaker(),
                Room(0.2, 1.0, None),
                Noise("pink", 10.0),
                Mic(44100, None),
                Agc(),
                Quantise(),
            ),
            "near-tv",
        ),
    }


EventCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class JsonlRun:
    """What a ``--json`` subprocess printed.

    Attributes
    ----------
    events : list of dict
        Its JSON lines, parsed, in order (non-JSON lines are skipped).
    returncode : int
        Its exit code.
    stderr : str
        Its standard error.
    cpu_s : float
        CPU seconds (user + system) the process used, from ``os.wait4``.
    wall_s : float
        Wall-clock seconds it ran.
    """

    events: list[dict[str, Any]]
    returncode: int
    stderr: str
    cpu_s: float
    wall_s: float


def run_jsonl_process(
    name: str,
    args: list[str],
    log_path: Path,
    on_event: EventCallback | None = None,
    timeout_s: float = 600.0,
) -> JsonlRun:
    """Run ``jimaku ARGS`` and collect its JSON lines, writing them to ``log_path`` as they come.

    Parameters
    ----------
    name : str
        The stage's name for messages (``"broadcaster"``).
    args : list of str
        Arguments after ``jimaku``.
    log_path : Path
        Where the JSON lines go (one per line, as printed).
    on_event : callable, optional
        Called with every parsed event as it arrives (from the reader thread's caller, i.e. here).
    timeout_s : float
        Kill the process after this long.

    Returns
    -------
    JsonlRun
        The events and exit status.

    Raises
    ------
    ComponentMissing
        The subcommand is not registered (component not installed).
    StageFailed
        The process exited non-zero or timed out.
    """
    cmd = jimaku_command(*args)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    err_chunks: list[bytes] = []
    err_reader = threading.Thread(target=_drain, args=(proc.stderr, err_chunks), daemon=True)
    err_reader.start()
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    events: list[dict[str, Any]] = []
    try:
        with log_path.open("w", encoding="utf-8") as log:
            for event in read_jsonl_events(proc.stdout, log):
                events.append(event)
                if on_event is not None:
                    on_event(event)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err_reader.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()
    stderr = b"".join(err_chunks).decode("utf-8", errors="replace")
    wall = time.monotonic() - t0
    rc = int(proc.returncode)
    if "invalid choice" in stderr and args[0] in stderr:
        extra = {"broadcast": "broadcaster", "receive": "receiver"}.get(args[0], "all")
        raise ComponentMissing(
            f"the {name} command `jimaku {args[0]}` is not available; install it with "
            f"pip install 'jimaku[{extra}]'"
        )
    if not events:
        # Some commands print their JSON lines on stderr (when stdout carries audio).
        for line in stderr.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    if rc != 0:
        tail = " | ".join(stderr.strip().splitlines()[-8:]) or "(no stderr)"
        why = f"was killed after {timeout_s:.0f} s" if wall >= timeout_s else f"exited with {rc}"
        shown = " ".join("--token=***" if a.startswith("--token=") else a for a in args)
        raise StageFailed(f"the {name} (jimaku {shown}) {why}: {tail}")
    return JsonlRun(events, rc, stderr, usage.ru_utime + usage.ru_stime, wall)


def _drain(stream: Any, sink: list[bytes]) -> None:
    # stderr is read on its own thread so a chatty process never blocks on a full pipe.
    sink.append(stream.read())


def run_broadcaster(
    input_path: Path,
    output_path: Path,
    archive_url: str,
    channel: int,
    token: str,
    log_path: Path,
    delay_s: float = 0.0,
    on_event: EventCallback | None = None,
    extra_args: tuple[str, ...] = (),
    timeout_s: float = 900.0,
    state_dir: Path | None = None,
) -> JsonlRun:
    """Run ``jimaku broadcast`` file to file (as fast as recognition allows).

    Parameters
    ----------
    input_path, output_path : Path
        The announcer programme and the on-air audio to write.
    archive_url : str
        The archive's base URL.
    channel : int
        Broadcast channel id.
    token : str
        The channel's write token.
    log_path : Path
        Where its JSON event log goes.
    delay_s : float
        Synchronous mode's programme delay (0: live mode).
    on_event : callable, optional
        Called with each event as it arrives.
    extra_args : tuple of str
        More ``jimaku broadcast`` flags.
    timeout_s : float
        Kill it after this long.
    state_dir : Path, optional
        Its state directory (default: ``broadcaster-state`` beside the log).

    Returns
    -------
    JsonlRun
        Its events.
    """
    # A state directory of its own: the sequence counter starts afresh and no caption spooled by
    # an earlier run (for another archive) is sent to this one.
    args = broadcaster_args(
        str(input_path),
        output_path,
        archive_url,
        channel,
        token,
        delay_s,
        state_dir or log_path.parent / "broadcaster-state",
        extra_args,
    )
    return run_jsonl_process("broadcaster", args, log_path, on_event, timeout_s)


def broadcaster_args(
    input_spec: str,
    output_path: Path,
    archive_url: str,
    channel: int,
    token: str,
    delay_s: float,
    state_dir: Path,
    extra_args: tuple[str, ...] = (),
) -> list[str]:
    """Build the ``jimaku broadcast --json`` arguments the chain runs (input a file or ``-``)."""
    args = [
        "broadcast",
        "--input",
        input_spec,
        "--output",
        str(output_path),
        # "--token=T": the archive's tokens are URL-safe base64 and may start with "-"
        "--archive",
        archive_url,
        "--channel",
        str(channel),
        f"--token={token}",
        "--json",
        "--state-dir",
        str(state_dir),
    ]
    if delay_s > 0:
        args += ["--delay", f"{delay_s:g}"]
    return [*args, *extra_args]


#: Stale limit handed to the receiver (s). The chain plays the phone recording after the whole
#: broadcast was processed, so its captions are older than in a live run by that processing time.
RECEIVER_STALE_AFTER_S = 3600.0


def run_receiver(
    input_path: Path,
    archive_url: str,
    log_path: Path,
    on_event: EventCallback | None = None,
    extra_args: tuple[str, ...] = (),
    timeout_s: float = 900.0,
    realtime: bool = True,
) -> JsonlRun:
    """Run ``jimaku receive --json`` on a phone recording, paced in real time (or ``--fast``).

    Paced in real time, the receiver's display rules (minimum display time, roll-up) act on the
    clock a viewer lives in, and its wall times are the recording's positions plus its start.

    Parameters
    ----------
    input_path : Path
        The phone's recording of the living room.
    archive_url : str
        The archive's base URL.
    log_path : Path
        Where its JSON log goes (one line per shown caption).
    on_event : callable, optional
        Called with each line as it arrives.
    extra_args : tuple of str
        More ``jimaku receive`` flags.
    timeout_s : float
        Kill it after this long.
    realtime : bool
        Pace the recording in real time (default) instead of ``--fast``.

    Returns
    -------
    JsonlRun
        Its events.
    """
    args = receiver_args(input_path, archive_url, realtime, extra_args)
    return run_jsonl_process("receiver", args, log_path, on_event, timeout_s)


def receiver_args(
    input_path: Path, archive_url: str, realtime: bool, extra_args: tuple[str, ...] = ()
) -> list[str]:
    """Build the ``jimaku receive --json`` arguments the chain runs on a phone recording."""
    return [
        "receive",
        "--input",
        str(input_path),
        "--json",
        "--archive",
        archive_url,
        "--stale-after",
        f"{RECEIVER_STALE_AFTER_S:g}",
        "--tui",
        "off",
        *([] if realtime else ["--fast"]),
        *extra_args,
    ]


def room_presets() -> dict[str, Any]:
    """Every room the chain can use: :func:`demo_rooms` plus ``channel_sim.PRESETS``."""
    try:
        import channel_sim
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ComponentMissing(
            f"the channel simulator is not importable ({exc}); install the bench extra: "
            "pip install 'jimaku[bench]'"
        ) from exc
    return {**getattr(channel_sim, "PRESETS", {}), **demo_rooms()}


def check_room(preset: str) -> None:
    """Raise :class:`StageFailed` naming the known rooms when ``preset`` is not one of them."""
    known = room_presets()
    if preset not in known:
        raise StageFailed(f"unknown room {preset!r}; use one of: {', '.join(sorted(known))}")


def simulate_room(
    onair: np.ndarray,
    sample_rate_hz: int,
    seed: int,
    preset: str = ROOM_PRESET,
    triggers_only: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Play the on-air audio through channel_sim's living room into a phone microphone.

    Parameters
    ----------
    onair : np.ndarray [shape=(n,) or (n, channels), dtype=float32]
        The broadcaster's output, samples in [-1, 1].
    sample_rate_hz : int
        Its sample rate.
    triggers_only : np.ndarray [shape=(n,), dtype=float32], optional
        The triggers alone (on-air minus programme): presets that set the noise by its in-band
        SNR against the trigger need it.
    seed : int
        Seed of the room's random parts (speaker/mic placement, noise).
    preset : str
        Name of a :func:`demo_rooms` or ``channel_sim.PRESETS`` entry.

    Returns
    -------
    (np.ndarray [shape=(m,), dtype=float32], int)
        The phone's recording and its sample rate.
    """
    try:
        import channel_sim
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ComponentMissing(
            f"the channel simulator is not importable ({exc}); install the bench extra: "
            "pip install 'jimaku[bench]'"
        ) from exc
    presets = room_presets()
    if preset not in presets:
        raise StageFailed(f"unknown room {preset!r}; use one of: {', '.join(sorted(presets))}")
    mono = onair.mean(axis=1) if onair.ndim == 2 else onair
    ref = None if triggers_only is None else np.ascontiguousarray(triggers_only, np.float32)
    try:
        out, sr_out = channel_sim.apply_chain(
            np.ascontiguousarray(mono, dtype=np.float32),
            sample_rate_hz,
            presets[preset],
            np.random.default_rng(seed),
            reference=ref,
        )
    except channel_sim.ChannelSimError as exc:
        raise StageFailed(f"the living-room simulation ({preset}) failed: {exc}") from exc
    out = np.asarray(out, dtype=np.float32)
    if out.ndim == 2:
        out = out.mean(axis=1).astype(np.float32)
    return out, int(sr_out)


class JsonlProcess:
    """A ``jimaku ... --json`` subprocess running beside others, its lines read on a thread.

    Used by the real-time chain, which runs the broadcaster and the receiver at the same time and
    must wait for each one's own "ready" line before starting the clock.

    Parameters
    ----------
    name : str
        The stage's name for messages.
    args : list of str
        Arguments after ``jimaku``.
    log_path : Path
        Where its JSON lines go, as printed.
    on_event : callable, optional
        Called with every parsed event (on the reader thread).
    stdin_pipe : bool
        Give it a pipe on stdin (:attr:`stdin`) instead of nothing.
    """

    def __init__(
        self,
        name: str,
        args: list[str],
        log_path: Path,
        on_event: EventCallback | None = None,
        stdin_pipe: bool = False,
    ) -> None:
        self.name = name
        self._shown_args = " ".join("--token=***" if a.startswith("--token=") else a for a in args)
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(
            jimaku_command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._on_event = on_event
        self._log_path = log_path
        self._err: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=_drain, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for r in self._readers:
            r.start()

    @property
    def stdin(self) -> Any:
        """The process's stdin pipe (``stdin_pipe=True`` only)."""
        return self.proc.stdin

    def _read(self) -> None:
        with self._log_path.open("w", encoding="utf-8") as log:
            for event in read_jsonl_events(self.proc.stdout, log):  # type: ignore[arg-type]
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
                if self._on_event is not None:
                    self._on_event(event)
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, kind: str, timeout_s: float) -> dict[str, Any]:
        """Wait for its first event of type ``kind`` (raise :class:`StageFailed` if it exits)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for e in self.events:
                    if e.get("type") == kind:
                        return e
                if self.proc.poll() is not None and not self._readers[0].is_alive():
                    raise StageFailed(
                        f"the {self.name} (jimaku {self._shown_args}) exited with "
                        f"{self.proc.returncode} before its {kind!r} line: {self._stderr_tail()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise StageFailed(
                        f"the {self.name} printed no {kind!r} line within {timeout_s:.0f} s: "
                        f"{self._stderr_tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def wait_until(self, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float) -> bool:
        """Wait until ``done(events so far)`` holds or it exits; False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not done(self.events):
                if self.proc.poll() is not None and not self._readers[0].is_alive():
                    return done(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def stop(self, timeout_s: float = 10.0) -> JsonlRun:
        """End it (SIGTERM) when there is nothing more to wait for; what it printed so far.

        For a listener with no end of its own: its lines are written and flushed as they happen,
        so none is lost. Unlike :meth:`finish`, being terminated is not a failure; exiting on its
        own with an error still is.
        """
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.finish(timeout_s, allow_terminated=True)

    def _stderr_tail(self) -> str:
        err = b"".join(self._err).decode("utf-8", errors="replace")
        return " | ".join(err.strip().splitlines()[-8:]) or "(no stderr)"

    def finish(self, timeout_s: float, allow_terminated: bool = False) -> JsonlRun:
        """Wait for it to exit; its events and CPU use (raise :class:`StageFailed` unless 0).

        ``allow_terminated``: ending by SIGTERM (from :meth:`stop`) counts as success.
        """
        timer = threading.Timer(timeout_s, self.proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
        for r in self._readers:
            r.join(timeout=10)
        self._close_pipes()
        wall = time.monotonic() - self._t0
        rc = int(self.proc.returncode)
        stderr = b"".join(self._err).decode("utf-8", errors="replace")
        # terminated: killed by SIGTERM, or exited 143 (128 + SIGTERM) from its own handler
        terminated = rc in (-signal.SIGTERM, 128 + signal.SIGTERM)
        if rc != 0 and not (allow_terminated and terminated):
            raise StageFailed(
                f"the {self.name} (jimaku {self._shown_args}) exited with {rc}: "
                f"{self._stderr_tail()}"
            )
        return JsonlRun(list(self.events), rc, stderr, usage.ru_utime + usage.ru_stime, wall)

    def kill(self) -> None:
        """Stop it now (cleanup after a failure; nothing to do once it has exited)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for r in self._readers:
            r.join(timeout=10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                # (stdin of a process that died with bytes unread)
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()


def feed_in_real_time(
    stdin: Any,
    audio: np.ndarray,
    sample_rate_hz: int,
    start_wall: float | None = None,
    block_s: float = 0.1,
) -> tuple[float, float]:
    """Write ``audio`` as raw s16le PCM to ``stdin`` at its own pace, then close it.

    Parameters
    ----------
    stdin : binary file
        The broadcaster's stdin (``jimaku broadcast --input - --pcm-format s16le``).
    audio : np.ndarray [shape=(n,) or (n, channels), dtype=float32]
        The programme, samples in [-1, 1].
    sample_rate_hz : int
        Its rate.
    start_wall : float, optional
        POSIX time at which the programme's first sample is due (default: now). The first block
        (its last sample played) is written ``block_s`` later.
    block_s : float
        Write granularity (s).

    Returns
    -------
    (float, float)
        POSIX time of the programme's first sample (the programme clock's zero), and the largest
        lag (s) of a write behind its due time (a broadcaster that does not keep up blocks the
        pipe; the programme clock is only exact while this stays small).
    """
    # x 32768, as 16-bit audio is read (k / 32768): a 16-bit programme file goes through unchanged,
    # so the broadcaster hears exactly what the rehearsal heard from the file
    pcm = np.clip(np.round(np.asarray(audio, np.float64) * 32768.0), -32768, 32767).astype("<i2")
    step = max(1, round(block_s * sample_rate_hz))
    now = time.time()
    origin_wall = now if start_wall is None else start_wall
    t0 = time.monotonic() + (origin_wall - now)
    worst = 0.0
    try:
        for i in range(0, len(pcm), step):
            # as from a sound card: a block is there once its last sample has been played
            due = t0 + min(i + step, len(pcm)) / sample_rate_hz
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            stdin.write(pcm[i : i + step].tobytes())
            stdin.flush()
            worst = max(worst, time.monotonic() - due)
    finally:
        stdin.close()
    return origin_wall, worst
