"""The demo's console output: live progress while the chain runs, then every caption's timing."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from jimaku.demo.timing import STAGES, CaptionTiming

__all__ = ["BUNDLED_WHY", "RichReporter", "percentile", "print_timings", "stage_summary"]


class RichReporter:
    """Progress display (rich): one line per stage, with a bar where the amount of work is known.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw (stderr by default, so stdout stays clean for the caption table).
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("[bold]{task.fields[name]:<15}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichReporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None and exc is not None:
            self._progress.update(self._task, detail=f"failed: {type(exc).__name__}")
        self._progress.stop()

    def stage(self, name: str, total: float | None = None) -> None:
        """Begin a new stage (``total``: its amount of work, e.g. programme seconds)."""
        self._task = self._progress.add_task("", total=total, name=name, detail="")

    def advance(self, completed: float, detail: str = "") -> None:
        """Report that the current stage has done ``completed`` of its total."""
        if self._task is not None:
            self._progress.update(self._task, completed=completed, detail=detail)

    def done(self, detail: str = "") -> None:
        """Mark the current stage as finished."""
        if self._task is not None:
            task = self._progress.tasks[-1]
            total = task.total if task.total is not None else 1.0
            self._progress.update(self._task, total=total, completed=total, detail=detail)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) of ``values``, linear interpolation (NaN if empty)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def stage_summary(timings: Sequence[CaptionTiming]) -> dict[str, dict[str, float | int]]:
    """Median and p95 of every stage, the latency and the sync error over the captions.

    Parameters
    ----------
    timings : sequence of CaptionTiming
        The captions.

    Returns
    -------
    dict
        ``{name: {"n", "p50_s", "p95_s", "max_s"}}`` for each stage, ``latency`` (speech end ->
        final text on screen), ``first_text`` (speech start -> the caption's first words on
        screen) and ``sync_error`` (and ``abs_sync_error``); names with no values are left out.
    """
    series: dict[str, list[float]] = {s: [] for s in STAGES}
    series["latency"] = []
    series["first_text"] = []
    series["sync_error"] = []
    series["abs_sync_error"] = []
    for t in timings:
        for s in STAGES:
            v = t.stages.get(s)
            if v is not None:
                series[s].append(v)
        if t.latency_s is not None:
            series["latency"].append(t.latency_s)
        if t.first_shown_s is not None and t.speech_start_s is not None:
            series["first_text"].append(t.first_shown_s - t.speech_start_s)
        if t.sync_error_s is not None:
            series["sync_error"].append(t.sync_error_s)
            series["abs_sync_error"].append(abs(t.sync_error_s))
    return {
        name: {
            "n": len(v),
            "p50_s": statistics.median(v),
            "p95_s": percentile(v, 95),
            "max_s": max(v),
        }
        for name, v in series.items()
        if v
    }


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:6.2f}"


#: Why the bundled announcer's captions read as nonsense (printed under its table).
BUNDLED_WHY = (
    "why the captions differ from what was said: the bundled announcer is espeak-ng's synthetic "
    "Korean, which the small Korean vosk model hears poorly; the chain delivers exactly what it "
    "recognised (try --programme your-recording.wav --transcript what-is-said.txt)"
)


def print_timings(
    timings: Sequence[CaptionTiming],
    delay_s: float,
    console: Any = None,
    bundled: bool = False,
) -> None:
    """Print each caption as the viewer saw it beside what was said, with its timing.

    Parameters
    ----------
    timings : sequence of CaptionTiming
        The captions.
    delay_s : float
        The broadcaster's delay (0: live mode): picks the headline figure.
    console : rich.console.Console, optional
        Where to print (stdout by default).
    bundled : bool
        The programme is the bundled espeak-ng announcer: say why its captions read poorly.
    """
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    mode = f"synchronous mode (--delay {delay_s:g} s)" if delay_s > 0 else "live mode"
    table = Table(
        title=f"Captions as the viewer saw them — {mode}; times in programme seconds",
        title_justify="left",
        show_lines=False,
    )
    table.add_column("seq", justify="right")
    table.add_column("caption shown", overflow="fold", min_width=14, max_width=30)
    table.add_column("what was said", overflow="fold", min_width=14, max_width=30)
    table.add_column("CER", justify="right")
    for name in (
        "speech\nstart",
        "speech\nend",
        "trigger\naired",
        "trigger\ndecoded",
        "first\nwords\nshown",
        "final\nstored",
        "final\ntext\nshown",
    ):
        table.add_column(name, justify="right")
    headline = "sync\nerror" if delay_s > 0 else "latency\n(end→final)"
    table.add_column(headline, justify="right", style="bold")
    for t in timings:
        figure = t.sync_error_s if delay_s > 0 else t.latency_s
        table.add_row(
            str(t.seq),
            t.shown_text if t.shown_text is not None else "[red](never shown)",
            t.spoken if t.spoken is not None else "—",
            "—" if t.cer is None else f"{t.cer:.0%}",
            _fmt(t.speech_start_s),
            _fmt(t.speech_end_s),
            _fmt(t.trigger_start_s),
            _fmt(t.decoded_s),
            _fmt(t.first_shown_s),
            _fmt(t.stored_s),
            _fmt(t.shown_s),
            _fmt(figure),
        )
    con.print(table)
    rates = [t.cer for t in timings if t.cer is not None]
    if rates:
        con.print(
            f"character error rate (caption vs what was said, spaces and punctuation ignored): "
            f"median {statistics.median(rates):.0%} over {len(rates)} captions"
        )
    if bundled:
        con.print(BUNDLED_WHY)
    summary = stage_summary(timings)
    key = "abs_sync_error" if delay_s > 0 else "latency"
    if key in summary:
        s = summary[key]
        label = "|sync error|" if delay_s > 0 else "speech end → final text shown"
        con.print(
            f"{label}: median {s['p50_s']:.2f} s, p95 {s['p95_s']:.2f} s, max {s['max_s']:.2f} s "
            f"over {s['n']} captions"
        )
    for line in path_medians(timings):
        con.print(line)


def _median_of(values: Sequence[float | None]) -> float | None:
    got = sorted(v for v in values if v is not None)
    if not got:
        return None
    mid = len(got) // 2
    return got[mid] if len(got) % 2 else 0.5 * (got[mid - 1] + got[mid])


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def path_medians(timings: Sequence[CaptionTiming]) -> list[str]:
    """Two lines of medians, one per path a caption takes to the screen (programme clock).

    The trigger and the text travel separately: the ID goes on air as soon as vosk has the first
    words (or at the speech's on-air start in synchronous mode) and the phone shows those words
    from the live stream; the final text reaches the screen once vosk ends the utterance and the
    archive stores it. Ordering them as one chain of stages would give negative waits, so each path
    is reported from its own starting point.

    Parameters
    ----------
    timings : sequence of CaptionTiming
        The captions.

    Returns
    -------
    list of str
        ``"first words: ..."`` and ``"final text: ..."`` (a line is left out when nothing in it
        was measured).
    """
    steps_first = [
        (
            "speech start → trigger on air",
            [_diff(t.trigger_start_s, t.speech_start_s) for t in timings],
        ),
        ("airtime", [_diff(t.trigger_end_s, t.trigger_start_s) for t in timings]),
        ("→ decoded", [_diff(t.decoded_s, t.trigger_end_s) for t in timings]),
        ("→ first words shown", [_diff(t.first_shown_s, t.decoded_s) for t in timings]),
    ]
    steps_final = [
        ("speech end → vosk final", [_diff(t.final_s, t.speech_end_s) for t in timings]),
        ("→ stored", [_diff(t.stored_s, t.final_s) for t in timings]),
        ("→ final text shown", [_diff(t.shown_s, t.stored_s) for t in timings]),
    ]
    lines = []
    for title, steps in (("first words", steps_first), ("final text", steps_final)):
        parts = []
        for name, values in steps:
            m = _median_of(values)
            if m is not None:
                parts.append(f"{name} {m:.2f} s")
        if parts:
            lines.append(f"median, {title}: " + ", ".join(parts))
    return lines
