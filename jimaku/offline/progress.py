"""A progress bar on stderr for long files (rich if installed, else plain lines)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``callback(done, total)`` that draws progress on stderr.

    Parameters
    ----------
    label : str
        What is being processed (the file name).
    enabled : bool
        False: the callback does nothing.

    Yields
    ------
    callable
        ``callback(done, total)``; units are whatever the caller counts (frames).
    """
    if not enabled:
        yield lambda done, total: None
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn
    except ModuleNotFoundError:  # the [ui] extra is not installed: plain lines every 10 %
        last = [-1]

        def plain(done: int, total: int) -> None:
            pct = int(100 * done / total) if total else 0
            if pct // 10 != last[0]:
                last[0] = pct // 10
                print(f"{label}: {pct:3d} %", file=sys.stderr, flush=True)

        yield plain
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update
