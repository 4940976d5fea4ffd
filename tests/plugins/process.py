"""Stopping a running `jimaku` command the way a service manager does, without leaking it."""

from __future__ import annotations

import signal
import subprocess
from typing import AnyStr

__all__ = ["stop"]


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
