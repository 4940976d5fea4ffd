"""Stopping a `jimaku` command the way an operator does (Ctrl-C), without leaking it."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["interrupt"]


def interrupt(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Send SIGINT to ``proc`` and return its ``(stdout, stderr)`` once it has exited.

    If it has not exited within ``timeout`` seconds it is killed and reaped before
    :class:`subprocess.TimeoutExpired` is raised, so a hang fails only the test that saw it.
    """
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
