"""The receiver's one settings object (frozen, validated; every flag of ``jimaku receive``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive_client.urls import check_archive_url
from receiver_app.errors import SettingsError
from trigger_codec.ids import MAX_CHANNEL

__all__ = ["DisplayRules", "ReceiverSettings"]


@dataclass(frozen=True)
class DisplayRules:
    """How captions are laid out and timed on screen.

    Attributes
    ----------
    max_lines : int
        Lines on screen at once (roll-up), 1-5; broadcast practice is 2.
    cjk_line_fullwidth : float
        Line length for Japanese/Korean text in full-width characters (15.5: the Japanese
        broadcast caption guideline's line; half-width characters count half).
    latin_line_chars : int
        Line length for text without full-width characters (42: the CEA-608/708 and BBC limit).
    min_display_s : float
        Shortest time a caption stays before later text may push it off screen, in seconds.
    display_s_per_char : float
        Added minimum time per character (reading speed ~ 14 characters/s), in seconds.
    max_min_display_s : float
        Cap on the minimum display time, so a long caption cannot hold up the next for ever.
    max_hold_s : float
        A waiting caption is shown after this long even if that cuts an earlier one short, so
        captions never fall further behind the programme than this.
    clear_after_s : float
        The screen clears when nothing new has come for this long (seconds).
    history_size : int
        Captions kept for scrolling back.
    """

    max_lines: int = 2
    cjk_line_fullwidth: float = 15.5
    latin_line_chars: int = 42
    min_display_s: float = 1.0
    display_s_per_char: float = 0.07
    max_min_display_s: float = 5.0
    max_hold_s: float = 2.0
    clear_after_s: float = 8.0
    history_size: int = 500

    def __post_init__(self) -> None:
        if not 1 <= self.max_lines <= 5:
            raise SettingsError(f"max_lines must be 1-5, got {self.max_lines}")
        if not 4 <= self.cjk_line_fullwidth <= 60:
            raise SettingsError(
                f"cjk_line_fullwidth must be 4-60 characters, got {self.cjk_line_fullwidth}"
            )
        if not 8 <= self.latin_line_chars <= 120:
            raise SettingsError(
                f"latin_line_chars must be 8-120 characters, got {self.latin_line_chars}"
            )
        for name in ("min_display_s", "display_s_per_char", "max_min_display_s", "max_hold_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be >= 0 s, got {getattr(self, name)}")
        if self.clear_after_s <= 0:
            raise SettingsError(f"clear_after_s must be > 0 s, got {self.clear_after_s}")
        if self.history_size < 1:
            raise SettingsError(f"history_size must be >= 1, got {self.history_size}")


@dataclass(frozen=True)
class ReceiverSettings:
    """Everything ``jimaku receive`` can be told.

    Attributes
    ----------
    archive_url : str
        Base URL of the archive server.
    channel : int or None
        Pin the receiver to this broadcast channel (0-4095); None follows the triggers heard.
    stale_after_s : float
        A caption whose on-air time (``end_at``, else ``start_at``) is older than this is not
        shown as live (seconds).
    timeshift : bool
        Show stale captions anyway, marked as recorded (watching a recorded programme).
    fetch_wait_s : float
        ``wait`` of each caption GET (the server answers as soon as the caption is final).
    fetch_give_up_s : float
        Stop trying to fetch a caption this long after its trigger was heard (it is no longer
        current), seconds.
    retry_initial_s, retry_max_s : float
        Backoff between attempts while the archive is unreachable (doubling, capped).
    http_timeout_s : float
        Transport timeout of one request beyond its ``wait``.
    cache_size : int
        Captions remembered, so a repeated trigger costs no request.
    live : bool
        Follow the archive's live WebSocket for partial text and corrections.
    sample_rate_hz : int
        Microphone sample rate (44100 or 48000).
    block_frames : int
        Frames per audio block handed to the decoder.
    display : DisplayRules
        Layout and timing of the captions.
    """

    archive_url: str = "http://127.0.0.1:8000"
    channel: int | None = None
    stale_after_s: float = 60.0
    timeshift: bool = False
    fetch_wait_s: float = 5.0
    fetch_give_up_s: float = 30.0
    retry_initial_s: float = 0.25
    retry_max_s: float = 5.0
    http_timeout_s: float = 3.0
    cache_size: int = 512
    live: bool = True
    sample_rate_hz: int = 48000
    block_frames: int = 2048
    display: DisplayRules = field(default_factory=DisplayRules)

    def __post_init__(self) -> None:
        try:
            check_archive_url(self.archive_url)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        if self.channel is not None and not 0 <= self.channel <= MAX_CHANNEL:
            raise SettingsError(f"channel must be 0-{MAX_CHANNEL}, got {self.channel}")
        if self.stale_after_s <= 0:
            raise SettingsError(f"stale limit must be > 0 s, got {self.stale_after_s}")
        if not 0 <= self.fetch_wait_s <= 30:
            raise SettingsError(
                f"fetch wait must be 0-30 s (the server's limit), got {self.fetch_wait_s}"
            )
        if self.fetch_give_up_s <= 0:
            raise SettingsError(f"fetch_give_up_s must be > 0, got {self.fetch_give_up_s}")
        if not 0 < self.retry_initial_s <= self.retry_max_s:
            raise SettingsError(
                f"need 0 < retry_initial_s <= retry_max_s, got {self.retry_initial_s} and "
                f"{self.retry_max_s}"
            )
        if self.cache_size < 1:
            raise SettingsError(f"cache_size must be >= 1, got {self.cache_size}")
        if self.sample_rate_hz not in (44100, 48000):
            raise SettingsError(
                f"sample rate {self.sample_rate_hz} Hz: the microphone must run at 44100 or "
                "48000 Hz to hear the 17-19.5 kHz trigger band"
            )
        if not 64 <= self.block_frames <= 65536:
            raise SettingsError(f"block_frames must be 64-65536, got {self.block_frames}")
