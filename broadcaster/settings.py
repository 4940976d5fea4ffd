"""The broadcaster's one settings object and where its values come from.

Precedence (lowest first): defaults, a TOML settings file (``--settings FILE`` or
``$JIMAKU_SETTINGS``; keys are the field names below), environment (``JIMAKU_TOKEN``,
``JIMAKU_ARCHIVE``, ``JIMAKU_CHANNEL``), command-line options.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from archive_client.urls import check_archive_url
from broadcaster.errors import ConfigError
from trigger_codec.ids import MAX_CHANNEL, PROFILE_NAMES, ProfileName

__all__ = ["BroadcastSettings", "default_state_dir", "load_settings"]


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/jimaku`` (default ``~/.local/state/jimaku``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jimaku"


@dataclass(frozen=True)
class BroadcastSettings:
    """Everything the daemon needs (validated on creation).

    Attributes
    ----------
    archive_url : str
        Base URL of the archive server.
    channel : int
        Broadcast channel ID, 0-4095.
    token : str or None
        The channel's bearer token for the archive.
    profile : {"hf", "robust"}
        Trigger profile, ``"hf"`` (17-19.5 kHz, needs 44.1/48 kHz audio) or ``"robust"``.
    delay_s : float
        0 for live mode; > 0 for synchronous mode (programme delayed by this much, trigger placed
        at the utterance's start as it airs).
    model : str or None
        Model directory or installed model name; None for the default Korean model.
    phrases : tuple of str
        Phrase hints (vosk runtime grammar) — empty for free recognition.
    language : str or None
        Caption language sent to the archive; None: the model's.
    endpoint_silence_s : float or None
        Trailing silence (s) after which vosk ends an utterance when it is confident the sentence
        is complete (Kaldi endpoint rule2; rules 3 and 4 are scaled with it, see
        :mod:`models.endpoint`). None or 0 keeps the model's own rules (0.5 s for the small
        models).
        Shorter ends captions sooner but splits speech at shorter pauses.
    state_dir : Path
        Where the sequence counter and the upload spool live.
    early_trigger : bool
        Air an utterance's trigger as soon as vosk recognises its first words (live: at once;
        synchronous: where the speech starts on air), instead of when its final text exists.
        The caption's text then follows on the viewer's screen as partial text, replaced by the
        final text as soon as vosk ends the utterance.
    onset_refinement : bool
        Find the utterance's start in the audio (its energy onset, :mod:`broadcaster.onset`)
        when its first partial comes out. Off (or no onset found), synchronous mode places the
        trigger at vosk's first-word time once the final exists, as before.
    sync_lead_s : float or None
        Synchronous mode: the trigger starts this long before the utterance airs, so that the
        caption (trigger airtime + decoding later) appears with the speech; None: the
        profile's airtime + 0.06 s (the measured decoding delay).
    repeat_interval_s : float
        Time between repeats of a caption's trigger while it is on screen (s).
    caption_hold_s : float
        How long a caption counts as on screen after its first airing (s), unless a newer one
        replaces it.
    line_columns : int or None
        Columns per caption line (full-width chars count 2); None: 31 for CJK models, 42 otherwise.
    max_lines : int
        Lines per caption.
    max_caption_s : float
        Longest stretch of speech in one caption (s).
    partial_interval_s : float
        Minimum time between partial uploads (s).
    block_s : float
        Block length for file/stdin input (s).
    drain_timeout_s : float
        With file input: how long to wait at the end for the archive to store every caption
        before leaving the rest in the spool (s).
    asr_queue_s : float
        Audio the recogniser may fall behind by before device input is dropped for recognition
        (the programme is never held back) (s).
    """

    archive_url: str = "http://127.0.0.1:8000"
    channel: int = 0
    token: str | None = None
    profile: ProfileName = "hf"
    delay_s: float = 0.0
    model: str | None = None
    phrases: tuple[str, ...] = ()
    language: str | None = None
    endpoint_silence_s: float | None = 0.3
    state_dir: Path = field(default_factory=default_state_dir)
    early_trigger: bool = True
    onset_refinement: bool = True
    sync_lead_s: float | None = None
    repeat_interval_s: float = 2.5
    caption_hold_s: float = 6.0
    line_columns: int | None = None
    max_lines: int = 2
    max_caption_s: float = 7.0
    partial_interval_s: float = 0.5
    block_s: float = 0.1
    drain_timeout_s: float = 10.0
    asr_queue_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.channel <= MAX_CHANNEL:
            raise ConfigError(f"channel {self.channel} is out of range; use 0-{MAX_CHANNEL}")
        if self.profile not in PROFILE_NAMES:
            names = " or ".join(repr(n) for n in PROFILE_NAMES)
            raise ConfigError(f"profile {self.profile!r} is unknown; use {names}")
        if self.delay_s < 0:
            raise ConfigError(f"delay {self.delay_s} s is negative; use 0 (live) or more")
        try:
            check_archive_url(self.archive_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        for name in ("repeat_interval_s", "caption_hold_s", "max_caption_s", "block_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} = {getattr(self, name)} must be positive")
        if self.endpoint_silence_s and not 0.1 <= self.endpoint_silence_s <= 5.0:
            raise ConfigError(
                f"endpoint_silence_s {self.endpoint_silence_s} is outside 0.1-5 s; use 0 for "
                "the model's own rules (0.5 s)"
            )
        if self.line_columns is not None and self.line_columns < 4:
            raise ConfigError(f"line_columns {self.line_columns} is too small; use 4 or more")
        if self.max_lines < 1:
            raise ConfigError(f"max_lines {self.max_lines} must be at least 1")


# Values from a file, the environment and the command line are validated and converted
# (str -> Path, list -> tuple, "7" -> 7) by pydantic against the dataclass's own annotations, so a
# TOML ``early_trigger = "no"`` is False and ``phrases = "abc"`` an error, not three phrases.
_VALIDATOR: pydantic.TypeAdapter[BroadcastSettings] = pydantic.TypeAdapter(BroadcastSettings)
_ENV = {"token": "JIMAKU_TOKEN", "archive_url": "JIMAKU_ARCHIVE", "channel": "JIMAKU_CHANNEL"}


def load_settings(overrides: dict[str, Any], settings_file: str | None = None) -> BroadcastSettings:
    """Build :class:`BroadcastSettings` from file, environment and *overrides*.

    Parameters
    ----------
    overrides : dict
        Field values from the command line; ``None`` values are ignored.
    settings_file : str, optional
        TOML file; ``$JIMAKU_SETTINGS`` when omitted.

    Raises
    ------
    ConfigError
        Unreadable file, unknown key, a value of the wrong type or out of range (one line naming
        the setting and where it came from).
    """
    names = {f.name for f in dataclasses.fields(BroadcastSettings)}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = settings_file or os.environ.get("JIMAKU_SETTINGS")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path!r}: {exc}") from exc
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"settings file {path!r} has unknown keys {unknown}; known: {sorted(names)}"
            )
        values.update(data)
        origin.update(dict.fromkeys(data, f"settings file {path!r}"))
    for key, var in _ENV.items():
        if os.environ.get(var):
            values[key] = os.environ[var]
            origin[key] = f"${var}"
    cli = {k: v for k, v in overrides.items() if v is not None}
    values.update(cli)
    origin.update(dict.fromkeys(cli, "the command line"))
    try:
        return _VALIDATOR.validate_python(values)
    except pydantic.ValidationError as exc:
        raise ConfigError(_one_line(exc, values, origin)) from exc


def _one_line(exc: pydantic.ValidationError, values: dict[str, Any], origin: dict[str, str]) -> str:
    """Return the first error of ``exc`` as one line: the setting, its value, its source."""
    err = exc.errors()[0]
    ctx = err.get("ctx") or {}
    if isinstance(ctx.get("error"), ConfigError):  # a range check of __post_init__
        return str(ctx["error"])
    key = str(err["loc"][0]) if err["loc"] else "?"
    src = origin.get(key, "the defaults")
    return f"setting {key} = {values.get(key)!r} (from {src}): {err['msg'].lower()}"
