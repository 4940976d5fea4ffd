"""Waiting in tests for the condition that means ready, with a deadline, never a fixed time.

:func:`wait_until` (and :func:`until` inside a coroutine) is the one poll loop the tests and
their plugins share: a readiness probe (a
port that accepts, ``/healthz``, a metric, a counter) is checked until it holds, and a test fails
with what it waited for when it does not hold in time. The pause between probes only spaces them;
a test never depends on it being long enough. Where the event itself can be waited on (a
process's exit, a JSON event line: :mod:`tests.plugins.process`), the tests wait on that instead.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["until", "wait_until"]

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T], timeout_s: float, poll_s: float = 0.02) -> T:
    """Call ``probe`` until it returns a truthy value, and return that value.

    Parameters
    ----------
    what : str
        What is awaited, for the failure message ("3 bus listeners").
    probe : callable
        Checks the condition once; it may raise to end the wait at once (a process that died).
    timeout_s : float
        Seconds from the first call after which the wait fails.
    poll_s : float
        Seconds between probes.

    Raises
    ------
    TimeoutError
        ``probe`` did not return a truthy value within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


async def until(
    what: str, probe: Callable[[], T | Awaitable[T]], timeout_s: float, poll_s: float = 0.02
) -> T:
    """:func:`wait_until` for a coroutine: the event loop runs between probes.

    ``probe`` may return an awaitable (``lambda: asyncio.to_thread(blocking_check)`` for a
    check that does I/O), which is awaited.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        got = probe()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(poll_s)
