"""Caption display rules: a pure, clock-driven engine (no I/O, no threads, no wall clock).

Captions roll up: each new caption is wrapped into whole lines and added at the bottom; the
screen shows the last ``max_lines`` lines. The engine enforces:

- **whole lines** within a per-script length (15.5 full-width characters for Japanese/Korean,
  42 for Latin text; Korean and Latin break at spaces, Japanese/Chinese between characters but
  never before closing punctuation);
- **minimum display time** proportional to length: a caption's lines are not pushed off the
  screen before ``min_display_s + display_s_per_char * len`` (capped), unless the next caption
  has waited ``max_hold_s`` (captions must not fall behind the programme);
- **no flicker**: a partial that becomes final, or a correction, replaces its own lines in place;
- **no duplicates**: the same caption (channel, seq) offered again changes nothing;
- **never out of order**: per channel, a caption with a lower seq than one already accepted is
  dropped (a late answer must not appear after the text that followed it);
- **history** of every caption shown, for scrolling back;
- **clears** after ``clear_after_s`` with nothing new.

The caller passes the time (``now``, seconds on any monotonic clock) to every call, so tests can
drive it exactly.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass, field, replace

import wcwidth

from receiver_app.settings import DisplayRules

__all__ = [
    "CaptionDisplay",
    "CaptionItem",
    "DisplayEvent",
    "HistoryEntry",
    "ScreenLine",
    "ScreenState",
    "text_width",
    "wrap_caption",
]

# Characters that may not start a line (Japanese kinsoku shori) and that may not end one.
_NO_LINE_START = set("、。，．,.!?！？）)」』】〕》〉ーゃゅょっァィゥェォャュョッ…・：；:;」%")
_NO_LINE_END = set("（(「『【〔《〈")


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _breaks_anywhere(ch: str) -> bool:
    """Han, kana and full-width punctuation: scripts written without spaces between words."""
    if not _is_wide(ch):
        return False
    name = unicodedata.name(ch, "")
    return not name.startswith("HANGUL")


def text_width(text: str) -> int:
    """Width of ``text`` in half-width columns, as a terminal draws it (wcwidth).

    Wide and full-width characters count 2; combining marks, zero-width spaces and joiners and
    Hangul's conjoining vowels and finals 0; an emoji sequence (skin tone, ZWJ family) 2 in all;
    control characters 0 (they are not drawn).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    int
        Columns.
    """
    return int(wcwidth.width(text))


def _line_columns(text: str, rules: DisplayRules) -> int:
    if any(_is_wide(c) for c in text):
        return int(rules.cjk_line_fullwidth * 2)
    return rules.latin_line_chars


def _units(text: str) -> list[tuple[str, bool]]:
    """Split into unbreakable units, each with 'a space precedes it'."""
    units: list[tuple[str, bool]] = []
    space = False
    word = ""

    def flush() -> None:
        nonlocal word, space
        if word:
            units.append((word, space))
            space = False
            word = ""

    for ch in text:
        if ch.isspace():
            flush()
            space = bool(units)
            continue
        if ch in _NO_LINE_START and not word and units and not space:
            # Never start a line with it: reopen the unit before and attach it there.
            word, space = units.pop()
            word += ch
            continue
        if ch in _NO_LINE_START and word:
            word += ch
            continue
        if _breaks_anywhere(ch):
            if word and word[-1] not in _NO_LINE_END:
                flush()
            word += ch
            if ch not in _NO_LINE_END:
                flush()
            continue
        if word and _breaks_anywhere(word[-1]) and word[-1] not in _NO_LINE_END:
            flush()
        word += ch
    flush()
    return units


def wrap_caption(text: str, rules: DisplayRules) -> list[str]:
    """Wrap a caption into whole lines no longer than its script's limit.

    Parameters
    ----------
    text : str
        Caption text (any script; runs of whitespace collapse to one space).
    rules : DisplayRules
        Supplies the line lengths.

    Returns
    -------
    list of str
        The lines, none wider than the limit (a single unit longer than a line is cut hard).
        Empty text gives no lines.
    """
    cols = _line_columns(text, rules)
    lines: list[str] = []
    cur = ""
    for unit, space in _units(text):
        sep = " " if (space and cur) else ""
        if text_width(cur + sep + unit) <= cols:
            cur = cur + sep + unit
            continue
        if cur:
            lines.append(cur)
            cur = ""
        while text_width(unit) > cols:  # an over-long word or URL: cut it hard
            cut = 0
            while text_width(unit[: cut + 1]) <= cols:
                cut += 1
            lines.append(unit[:cut])
            unit = unit[cut:]
        cur = unit
    if cur:
        lines.append(cur)
    return lines


@dataclass(frozen=True)
class CaptionItem:
    """A caption offered to the display.

    Attributes
    ----------
    channel, seq : int
        The caption's identity (from the trigger).
    text : str
        Its text (partial or final).
    final : bool
        Whether the text is final.
    marker : str or None
        A label shown with it (``"recorded"`` in timeshift mode), None for live captions.
    """

    channel: int
    seq: int
    text: str
    final: bool = True
    marker: str | None = None

    @property
    def key(self) -> tuple[int, int]:
        """(channel, seq)."""
        return (self.channel, self.seq)


@dataclass(frozen=True)
class DisplayEvent:
    """Something the viewer saw change.

    Attributes
    ----------
    kind : str
        ``"shown"`` (a caption appeared), ``"updated"`` (its text changed in place) or
        ``"cleared"`` (the screen went blank after a pause).
    item : CaptionItem or None
        The caption (None for ``"cleared"``).
    at : float
        When, on the caller's clock (seconds).
    """

    kind: str
    item: CaptionItem | None
    at: float


@dataclass(frozen=True)
class ScreenLine:
    """One line on screen: its text and which caption it belongs to."""

    text: str
    channel: int
    seq: int
    final: bool
    marker: str | None


@dataclass(frozen=True)
class ScreenState:
    """What is on screen: at most ``max_lines`` lines, oldest first."""

    lines: tuple[ScreenLine, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    """A caption that was shown, for scrolling back (latest text)."""

    item: CaptionItem
    shown_at: float


@dataclass
class _Entry:
    item: CaptionItem
    lines: list[str]
    shown_at: float
    min_until: float


@dataclass
class _Pending:
    item: CaptionItem
    since: float


@dataclass
class CaptionDisplay:
    """The display rules engine (see the module docstring).

    Parameters
    ----------
    rules : DisplayRules
        Layout and timing.
    """

    rules: DisplayRules = field(default_factory=DisplayRules)

    def __post_init__(self) -> None:
        self._entries: list[_Entry] = []
        self._pending: list[_Pending] = []
        self._last_seq: dict[int, int] = {}
        self._history: deque[HistoryEntry] = deque(maxlen=self.rules.history_size)
        self._shown: dict[tuple[int, int], int] = {}  # key -> index bookkeeping via history
        self._last_change = 0.0
        self.dropped_out_of_order = 0
        self.duplicates = 0

    # -- queries -----------------------------------------------------------------------------
    @property
    def screen(self) -> ScreenState:
        """The lines on screen now."""
        lines = [
            ScreenLine(t, e.item.channel, e.item.seq, e.item.final, e.item.marker)
            for e in self._entries
            for t in e.lines
        ]
        return ScreenState(tuple(lines[-self.rules.max_lines :]))

    @property
    def history(self) -> list[HistoryEntry]:
        """Every caption shown, oldest first (bounded by ``history_size``)."""
        return list(self._history)

    @property
    def pending(self) -> int:
        """Captions accepted but waiting for earlier ones' minimum display time."""
        return len(self._pending)

    def min_display_s(self, text: str) -> float:
        """Minimum display time of a caption's text, in seconds."""
        r = self.rules
        return min(r.max_min_display_s, r.min_display_s + r.display_s_per_char * len(text))

    # -- input -------------------------------------------------------------------------------
    def offer(self, item: CaptionItem, now: float) -> list[DisplayEvent]:
        """Offer a caption (new, a repeat, a partial becoming final, or a correction).

        Parameters
        ----------
        item : CaptionItem
            The caption.
        now : float
            Current time on the caller's monotonic clock, seconds.

        Returns
        -------
        list of DisplayEvent
            What changed on screen because of it (possibly nothing).
        """
        text = " ".join(item.text.split())
        item = replace(item, text=text)
        for e in self._entries:
            if e.item.key == item.key:
                if e.item.text == text and e.item.final == item.final:
                    self.duplicates += 1
                    return []
                e.item = item
                e.lines = wrap_caption(text, self.rules)
                e.min_until = max(e.min_until, e.shown_at + self.min_display_s(text))
                self._replace_history(item)
                self._last_change = now
                return [DisplayEvent("updated", item, now)]
        for p in self._pending:
            if p.item.key == item.key:
                p.item = item
                return self._drain(now)
        if item.key in self._shown:
            # Shown before and already off screen: keep the correction for scroll-back only.
            self.duplicates += 1
            self._replace_history(item)
            return []
        last = self._last_seq.get(item.channel)
        if last is not None and item.seq < last:
            self.dropped_out_of_order += 1
            return []
        if not text:
            return []
        self._last_seq[item.channel] = item.seq
        self._pending.append(_Pending(item, now))
        return self._drain(now)

    def tick(self, now: float) -> list[DisplayEvent]:
        """Advance the clock: show captions whose wait is over; clear after a pause.

        Parameters
        ----------
        now : float
            Current time, seconds (same clock as :meth:`offer`).

        Returns
        -------
        list of DisplayEvent
            What changed.
        """
        events = self._drain(now)
        if (
            self._entries
            and not self._pending
            and now - self._last_change >= self.rules.clear_after_s
            and all(e.min_until <= now for e in self._entries)
        ):
            self._entries.clear()
            self._last_change = now
            events.append(DisplayEvent("cleared", None, now))
        return events

    # -- internals ---------------------------------------------------------------------------
    def _replace_history(self, item: CaptionItem) -> None:
        for i, h in enumerate(self._history):
            if h.item.key == item.key:
                self._history[i] = HistoryEntry(item, h.shown_at)

    def _would_cut_short(self, new_lines: int, now: float) -> bool:
        """Whether adding ``new_lines`` would push off lines still within their minimum time."""
        total = sum(len(e.lines) for e in self._entries) + new_lines
        overflow = total - self.rules.max_lines
        for e in self._entries:
            if overflow <= 0:
                return False
            if e.min_until > now:
                return True
            overflow -= len(e.lines)
        return False

    def _drain(self, now: float) -> list[DisplayEvent]:
        events: list[DisplayEvent] = []
        while self._pending:
            p = self._pending[0]
            lines = wrap_caption(p.item.text, self.rules)
            held_too_long = now - p.since >= self.rules.max_hold_s
            if self._would_cut_short(len(lines), now) and not held_too_long:
                break
            self._pending.pop(0)
            self._entries.append(_Entry(p.item, lines, now, now + self.min_display_s(p.item.text)))
            # Entries wholly scrolled off leave the screen (they stay in history).
            total = sum(len(e.lines) for e in self._entries)
            while self._entries and total - len(self._entries[0].lines) >= self.rules.max_lines:
                total -= len(self._entries[0].lines)
                self._entries.pop(0)
            self._shown[p.item.key] = 1
            if len(self._shown) > 4 * self.rules.history_size:
                for k in list(self._shown)[: len(self._shown) // 2]:
                    del self._shown[k]
            self._history.append(HistoryEntry(p.item, now))
            self._last_change = now
            events.append(DisplayEvent("shown", p.item, now))
        return events

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`tick` may next change something (for a caller's timer), or None."""
        times: list[float] = []
        if self._pending:
            times.append(self._pending[0].since + self.rules.max_hold_s)
            times.extend(e.min_until for e in self._entries if e.min_until > now)
        elif self._entries:
            times.append(
                max(
                    self._last_change + self.rules.clear_after_s,
                    *(e.min_until for e in self._entries),
                )
            )
        return min(times) if times else None
