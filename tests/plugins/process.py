"""Running `jimaku` commands in tests: wait for the events they print, stop them without leaks.

:func:`stop` stops a process the way a service manager does. :class:`EventReader` follows a
running command's JSON event lines (``--json``) from a reader thread, so a test waits for the
event that means what it needs (``ready``: listening; ``caption``: a caption exists) with a
timeout instead of sleeping, and a command that dies early fails the test with its exit status
and the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, Any, AnyStr

__all__ = ["DaemonDied", "EventReader", "stop"]


def stop(
    proc: subprocess.Popen[AnyStr], timeout: float, sig: int = signal.SIGTERM
) -> tuple[AnyStr, AnyStr]:
    """Send ``sig`` (SIGTERM: ``systemctl stop``) and return ``(stdout, stderr)`` after the exit.

    SIGTERM rather than SIGINT: a shell starts background jobs with SIGINT ignored and the
    children of a test run inherit that, while SIGTERM always arrives (``jimaku`` handles both
    the same way; tests/test_broadcaster_pipeline.py covers Ctrl-C). If the process has not
    exited within ``timeout`` seconds it is killed and reaped, and :class:`AssertionError`
    carries the tail of what it printed, so a hang fails only the test that saw it.
    """
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"{proc.args!r} did not exit within {timeout} s of signal {sig}; killed.\n"
            f"stdout tail: {out[-1500:]!r}\nstderr tail: {err[-1500:]!r}"
        ) from None


class DaemonDied(AssertionError):
    """The command exited (or was still silent) before the awaited event; says how it ended."""


def _drain(stream: IO[bytes], sink: Callable[[bytes], None]) -> None:
    for raw in iter(stream.readline, b""):
        sink(raw)
    stream.close()


class EventReader:
    """Collect a running command's stdout JSON lines and its stderr from two reader threads.

    Parameters
    ----------
    proc : subprocess.Popen
        Started with ``stdout=PIPE, stderr=PIPE`` in binary mode; the reader owns both pipes
        (do not call ``communicate``; use :meth:`stop`).
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._err: list[bytes] = []
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=_drain, args=(proc.stdout, self._line), daemon=True),
            threading.Thread(target=_drain, args=(proc.stderr, self._err_line), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _line(self, raw: bytes) -> None:
        if raw.startswith(b"{"):
            with self._cond:
                self.events.append(json.loads(raw))
                self._cond.notify_all()

    def _err_line(self, raw: bytes) -> None:
        with self._cond:
            self._err.append(raw)
            self._cond.notify_all()

    @property
    def stderr(self) -> str:
        """What the command wrote to stderr so far."""
        return b"".join(self._err).decode(errors="replace")

    def _how(self) -> str:
        status = self.proc.poll()
        state = "still running" if status is None else f"exit status {status}"
        return f"{state}; stderr tail: {self.stderr[-2000:]!r}"

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The events of one ``type`` seen so far."""
        with self._cond:
            return [e for e in self.events if e.get("type") == kind]

    def wait_for_stderr(self, what: str, text: str, timeout: float) -> None:
        """Wait until the command's stderr contains ``text`` (a status line it prints).

        Raises :class:`DaemonDied` as :meth:`wait_for` does.
        """
        self.wait_for(what, lambda _events: text in self.stderr, timeout)

    def wait_for(
        self, what: str, pred: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> list[dict[str, Any]]:
        """Wait until ``pred(events so far)`` holds; return the events.

        Raises
        ------
        DaemonDied
            The command exited first, or ``timeout`` seconds passed (the message names
            ``what`` was awaited, the exit status and the stderr tail).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DaemonDied(f"no {what} within {timeout} s ({self._how()})")
                if self.proc.poll() is not None and not self._threads[0].is_alive():
                    raise DaemonDied(f"the command ended before {what} ({self._how()})")
                self._cond.wait(min(left, 0.2))
            return list(self.events)

    def died(self, why: BaseException) -> DaemonDied:
        """Wait briefly for the exit and describe it (for a pipe write that failed)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._close_stdin()
        for t in self._threads:
            t.join(timeout=5)
        return DaemonDied(f"{why!r}: the command went away ({self._how()})")

    def stop(self, timeout: float, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``, wait for the exit and the end of both pipes; return the exit status.

        A command still running after ``timeout`` seconds is killed and :class:`DaemonDied`
        says so (with its stderr tail).
        """
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonDied(
                f"{self.proc.args!r} did not exit within {timeout} s of signal {sig}; killed "
                f"({self._how()})"
            ) from None
        finally:
            self._close_stdin()
            for t in self._threads:
                t.join(timeout=10)
        return int(self.proc.returncode)

    def _close_stdin(self) -> None:
        # after the exit: closing it earlier would end a daemon that reads it (end of input)
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()

    def kill(self) -> None:
        """Kill and reap the command (cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close_stdin()
        for t in self._threads:
            t.join(timeout=5)
