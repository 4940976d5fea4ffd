"""The terminal UI (textual): large, high-contrast captions, a status line, scroll-back history.

Keys: ``h`` shows/hides the history (scroll it with the arrow keys / PageUp), ``t`` switches the
colours (white on black, yellow on black, black on white — each well above WCAG AA), ``q`` quits.
The receiver's event loop runs in a worker thread; updates reach the UI with
``call_from_thread``.
"""

from __future__ import annotations

import threading
from typing import Any

from jimaku.events import Listening
from receiver_app.app import ReceiverApp, ShownRecord
from receiver_app.display import ScreenState

__all__ = ["build_ui", "run_tui"]

_THEMES = (("#ffffff", "#000000"), ("#ffd700", "#000000"), ("#000000", "#ffffff"))


def run_tui(app: ReceiverApp) -> int:
    """Run the receiver with the terminal UI until the viewer quits or the input ends.

    Parameters
    ----------
    app : ReceiverApp
        The receiver; the UI adds itself to its outputs.

    Returns
    -------
    int
        The receiver's exit code.
    """
    result: Any = build_ui(app).run()
    return int(result or 0)


def build_ui(app: ReceiverApp, start_receiver: bool = True) -> Any:
    """Build the textual app for ``app`` (and add its bridge to ``app.outputs``).

    Parameters
    ----------
    app : ReceiverApp
        The receiver.
    start_receiver : bool
        Run ``app.run()`` in a worker thread once mounted (False: the caller feeds the UI).

    Returns
    -------
    textual.app.App
        The UI; ``.bridge`` is the :class:`~receiver_app.app.Output` that updates it.
    """
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import Footer, RichLog, Static

    class CaptionUI(App[int]):
        CSS = """
        Screen { background: #000000; }
        #status { height: 1; color: #c8c8c8; padding: 0 1; }
        #history { height: 1fr; display: none; border: solid #c8c8c8; }
        #history.shown { display: block; }
        #captions { dock: bottom; height: auto; min-height: 5; padding: 1 2;
                    text-style: bold; }
        """
        BINDINGS = [  # noqa: RUF012 - textual's declared class attribute
            Binding("q", "quit", "quit"),
            Binding("h", "history", "history"),
            Binding("t", "theme", "colours"),
        ]

        def __init__(self) -> None:
            super().__init__()
            self.code = 0
            self.theme_i = 0
            self.bridge: Any = None

        def compose(self) -> ComposeResult:
            yield Static("listening…", id="status")
            yield RichLog(id="history", wrap=True)
            yield Static("", id="captions")
            yield Footer()

        def on_mount(self) -> None:
            self._apply_theme()
            if start_receiver:
                threading.Thread(target=self._run_receiver, name="receiver", daemon=True).start()

        def _run_receiver(self) -> None:
            code = app.run()
            self.call_from_thread(self.exit, code)

        def _apply_theme(self) -> None:
            fg, bg = _THEMES[self.theme_i]
            cap = self.query_one("#captions", Static)
            cap.styles.color = fg
            cap.styles.background = bg
            self.screen.styles.background = bg

        def action_theme(self) -> None:
            self.theme_i = (self.theme_i + 1) % len(_THEMES)
            self._apply_theme()

        def action_history(self) -> None:
            self.query_one("#history", RichLog).toggle_class("shown")

        def show_screen(self, state: ScreenState) -> None:
            # Terminals cannot enlarge the font; captions get blank lines between them and bold
            # text instead, and the viewer enlarges the terminal font itself.
            text = Text()
            for i, ln in enumerate(state.lines):
                if i:
                    text.append("\n\n")
                if ln.marker:
                    text.append(f"[{ln.marker}] ", style="reverse")
                text.append(ln.text, style="bold" if ln.final else "bold italic")
            self.query_one("#captions", Static).update(text)

        def add_history(self, record: ShownRecord) -> None:
            fix = " (corrected)" if record.type == "updated" else ""
            self.query_one("#history", RichLog).write(
                f"ch {record.channel} #{record.seq}{fix}: {record.text}"
            )

        def set_status(self, message: str) -> None:
            self.query_one("#status", Static).update(message)

        async def action_quit(self) -> None:
            app.stop()

    ui = CaptionUI()

    class _Bridge:
        def screen(self, state: ScreenState) -> None:
            ui.call_from_thread(ui.show_screen, state)

        def shown(self, record: ShownRecord) -> None:
            ui.call_from_thread(ui.add_history, record)

        def status(self, message: str) -> None:
            ui.call_from_thread(ui.set_status, message)

        def listening(self, event: Listening) -> None:
            pass  # the screen shows captions, not the stream's start

    bridge = _Bridge()
    ui.bridge = bridge
    app.outputs.append(bridge)
    return ui
