"""Plain outputs: the ``--json`` log and a line-per-caption text log (no terminal UI)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from jimaku.events import Listening
from receiver_app.app import ShownRecord
from receiver_app.display import ScreenState

__all__ = ["JsonOutput", "TextOutput"]


class JsonOutput:
    """One JSON object per line for each caption shown or updated (schema: docs/receiver.md).

    Parameters
    ----------
    out : TextIO
        Where the JSON lines go (stdout by default).
    err : TextIO
        Where status lines go (stderr by default), as plain text.
    """

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._lock = threading.Lock()

    def screen(self, state: ScreenState) -> None:
        """Ignore layouts: the JSON log records captions."""

    def shown(self, record: ShownRecord) -> None:
        """Write the record as one JSON line and flush (a reader may be tailing it)."""
        with self._lock:
            self._out.write(record.to_json() + "\n")
            self._out.flush()

    def listening(self, event: Listening) -> None:
        """Write the stream's start as one JSON line (readers put stream positions on a clock)."""
        with self._lock:
            self._out.write(event.to_json() + "\n")
            self._out.flush()

    def status(self, message: str) -> None:
        """Status to stderr."""
        with self._lock:
            self._err.write(f"jimaku receive: {message}\n")
            self._err.flush()


class TextOutput:
    """Captions as plain lines (for a terminal without the UI, or a pipe)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr

    def screen(self, state: ScreenState) -> None:
        """Lines are printed per caption in :meth:`shown`."""

    def shown(self, record: ShownRecord) -> None:
        """Print the caption (corrections are marked)."""
        tag = " (recorded)" if record.stale else ""
        fix = " (corrected)" if record.type == "updated" else ""
        self._out.write(f"[ch {record.channel} #{record.seq}]{tag}{fix} {record.text}\n")
        self._out.flush()

    def status(self, message: str) -> None:
        """Status to stderr."""
        self._err.write(f"jimaku receive: {message}\n")
        self._err.flush()

    def listening(self, event: Listening) -> None:
        """Nothing to print: the captions follow."""
