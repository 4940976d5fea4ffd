"""The operator's view: status events as JSON lines (``--json``) or a rich live panel.

Every event is a dict with a ``type`` (schema in docs/broadcaster.md) and gets ``t`` (POSIX wall
time) added. :meth:`EventSink.emit` is called on the audio path, so it only appends to a queue;
a writer thread formats and prints.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import deque
from typing import Any, TextIO

from jimaku.events import BroadcastEventBase

__all__ = ["EventSink", "StatusBoard"]


class StatusBoard:
    """The facts the live panel shows, folded from events."""

    def __init__(self, keep: int = 8) -> None:
        self.level_dbfs = -120.0
        self.partial = ""
        self.captions: deque[dict[str, Any]] = deque(maxlen=keep)
        self.by_seq: dict[int, dict[str, Any]] = {}
        self.archive = "unknown"
        self.airings = 0
        self.xruns = 0
        self.warnings: deque[str] = deque(maxlen=3)
        self.header = ""
        self.state = "starting: loading the model, opening the input"
        self._air_before: dict[int, int] = {}  # airings before the caption's final existed

    def apply(self, ev: dict[str, Any]) -> None:
        """Fold one event into the board."""
        kind = ev.get("type")
        if kind == "started":
            self.header = (
                f"channel {ev['channel']}  profile {ev['profile']}  {ev['mode']}"
                f"  model {ev['model']}  next seq {ev['next_seq']}"
            )
        elif kind == "ready":
            self.state = f"listening to {ev['input']} (ready after {float(ev['startup_s']):.1f} s)"
        elif kind == "level":
            self.level_dbfs = float(ev["peak_dbfs"])
        elif kind == "partial":
            self.partial = str(ev["text"])
        elif kind == "caption":
            row = {
                "seq": ev["seq"],
                "text": ev["text"],
                "state": "spooled",
                "airings": self._air_before.pop(int(ev["seq"]), 0),
            }
            self.captions.append(row)
            self.by_seq[int(ev["seq"])] = row
            self.partial = ""
        elif kind == "upload" and int(ev["seq"]) in self.by_seq:
            self.by_seq[int(ev["seq"])]["state"] = ev["state"]
        elif kind == "airing":
            self.airings += 1
            if int(ev["seq"]) in self.by_seq:
                self.by_seq[int(ev["seq"])]["airings"] += 1
            else:
                self._air_before[int(ev["seq"])] = self._air_before.get(int(ev["seq"]), 0) + 1
        elif kind == "archive":
            self.archive = "healthy" if ev["healthy"] else f"DOWN: {ev.get('detail', '')}"
        elif kind == "xruns":
            self.xruns = int(ev["count"])
        elif kind in ("warning", "error"):
            self.warnings.append(f"{kind}: {ev.get('message', '')}")

    def render(self) -> Any:
        """Render the board as a rich renderable."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        bar_len = 30
        frac = min(1.0, max(0.0, (self.level_dbfs + 60.0) / 60.0))
        filled = int(frac * bar_len)
        meter = Text("input  ")
        meter.append("█" * filled, style="red" if self.level_dbfs > -1 else "green")
        meter.append("░" * (bar_len - filled))
        meter.append(f" {self.level_dbfs:6.1f} dBFS   archive: ")
        meter.append(self.archive, style="green" if self.archive == "healthy" else "bold red")
        meter.append(f"   airings {self.airings}   xruns {self.xruns}")
        table = Table(expand=True)
        table.add_column("seq", justify="right")
        table.add_column("caption")
        table.add_column("upload")
        table.add_column("aired", justify="right")
        styles = {"stored": "green", "spooled": "yellow", "failed": "bold red"}
        for row in self.captions:
            table.add_row(
                str(row["seq"]),
                row["text"],
                Text(row["state"], style=styles.get(row["state"], "")),
                str(row["airings"]),
            )
        parts: list[Any] = [
            Text(self.state, style="bold"),
            meter,
            Text(f"now: {self.partial}", style="italic"),
            table,
        ]
        parts += [Text(w, style="yellow") for w in self.warnings]
        return Panel(Group(*parts), title=f"jimaku broadcast  {self.header}")


class EventSink:
    """Collect events from any thread; print them as JSON lines or show the live panel.

    Parameters
    ----------
    mode : str
        ``"json"`` (one JSON object per line), ``"live"`` (rich panel, refreshed 4x/s) or
        ``"quiet"`` (keep only; tests).
    stream : text stream
        Where JSON lines / the panel go (stderr when stdout carries audio).
    """

    def __init__(self, mode: str, stream: TextIO) -> None:
        self.mode = mode
        self.stream = stream
        self.board = StatusBoard()
        self.events: list[dict[str, Any]] = []
        self._q: queue.SimpleQueue[tuple[BroadcastEventBase, float] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="jimaku-status", daemon=True)
        self._thread.start()

    def emit(self, event: BroadcastEventBase) -> None:
        """Queue one event, stamped with the time (safe from the audio thread)."""
        self._q.put((event, round(time.time(), 3)))

    def _run(self) -> None:
        live = None
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live

            live = Live(
                self.board.render(),
                console=Console(file=self.stream),
                refresh_per_second=4,
                transient=False,
            )
            live.start()
        try:
            while True:
                item = self._q.get()
                if item is None:
                    break
                # the model is dumped here, off the audio thread that may have emitted it
                ev = {**item[0].to_dict(), "t": item[1]}
                with self._lock:
                    self.events.append(ev)
                    self.board.apply(ev)
                if self.mode == "json":
                    self.stream.write(json.dumps(ev, ensure_ascii=False) + "\n")
                    self.stream.flush()
                elif live is not None:
                    live.update(self.board.render())
        finally:
            if live is not None:
                live.update(self.board.render())
                live.stop()

    def close(self) -> None:
        """Print what is queued and stop the writer thread."""
        self._q.put(None)
        self._thread.join(timeout=10)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Events of one type so far (for tests and the summary)."""
        with self._lock:
            return [e for e in self.events if e.get("type") == kind]
