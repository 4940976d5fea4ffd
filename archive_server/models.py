"""Request and response bodies of the HTTP API (pydantic), separate from the tables."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_CAPTION_S",
    "MAX_TEXT_CHARS",
    "TEXT_PATTERN",
    "Caption",
    "CaptionIn",
    "CaptionList",
    "ChannelInfo",
    "ChannelList",
    "ErrorOut",
    "IsoTime",
    "LiveMessage",
    "Word",
]

#: Longest caption text accepted, characters.
MAX_TEXT_CHARS = 2000
#: Longest on-air span of one caption (``end_at - start_at``), seconds: a caption is a sentence
#: or two; anything longer is a clock error, and it would stretch every subtitle export.
MAX_CAPTION_S = 3600.0

#: Unicode categories refused in text: controls (Cc: C0, DEL, C1; this includes line breaks),
#: lone surrogates (Cs) and the line/paragraph separators (Zl, Zp). The server never breaks lines
#: (the screen wraps), and a line break in a caption would end a WebVTT/SRT cue early.
_REFUSED = ("Cc", "Cs", "Zl", "Zp")
#: The same rule as a JSON Schema ``pattern`` (ECMA-262, Rust and Python ``re`` read it alike),
#: stated in the OpenAPI document so generated clients and fuzzers know it; a test checks that
#: the two agree on every code point. Surrogates are not in it: JSON Schema strings are Unicode
#: scalar values, which exclude them (a lone ``\ud800`` escape is not text; refused all the same).
TEXT_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$"


def _no_control(value: str, what: str) -> str:
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _REFUSED:
            raise ValueError(
                f"{what} contains a control character or line break U+{ord(ch):04X} at index "
                f"{i}; remove it"
            )
    return value


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(value: Any) -> Any:
    # pydantic also reads numbers (Unix time) and bare dates as datetimes; the document says
    # RFC 3339 date-time, and `?since=0.5` meaning 1970 is a mistake, not a request.
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError(
            f"{str(value)[:40]!r} is not an ISO-8601 date-time; write e.g. 2026-11-28T06:00:00Z"
        )
    return value


#: A date-time that must be written as RFC 3339 / ISO-8601 text (no Unix numbers, no bare dates).
IsoTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]


class Word(BaseModel):
    """One recognised word with its timing (seconds from utterance start) and confidence 0-1."""

    # strict: `true` is not a confidence, "1.5" is not a time (the document says number)
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"description": "A word; `end` is not before `start`."},
    )

    word: str = Field(max_length=200, json_schema_extra={"pattern": TEXT_PATTERN})
    start: float = Field(ge=0, le=86400)
    end: float = Field(ge=0, le=86400)
    conf: float = Field(ge=0, le=1)

    @field_validator("word")
    @classmethod
    def _word_clean(cls, v: str) -> str:
        return _no_control(v, "word")

    @model_validator(mode="after")
    def _ordered(self) -> Word:
        if self.end < self.start:
            raise ValueError(
                f"word {self.word!r} ends ({self.end} s) before it starts ({self.start} s)"
            )
        return self


class CaptionIn(BaseModel):
    """Body of ``PUT /v1/channels/{channel}/captions/{seq}``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A caption as the broadcaster sends it. `text` and `word` hold no "
            "control characters or line breaks (the `pattern`); `end_at` is not before "
            f"`start_at` and at most {MAX_CAPTION_S:g} s after it; times carry a UTC offset."
        },
    )

    text: str = Field(max_length=MAX_TEXT_CHARS, json_schema_extra={"pattern": TEXT_PATTERN})
    final: bool = Field(default=True, strict=True)
    language: str | None = Field(
        default=None, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
    )
    start_at: IsoTime | None = None
    end_at: IsoTime | None = None
    words: list[Word] | None = Field(default=None, max_length=500)

    @field_validator("text")
    @classmethod
    def _text_clean(cls, v: str) -> str:
        return _no_control(v, "text")

    @field_validator("start_at", "end_at")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:
            raise ValueError("times must carry a UTC offset, e.g. 2026-11-28T06:00:00Z")
        return v.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _span(self) -> CaptionIn:
        if self.start_at is not None and self.end_at is not None:
            span = (self.end_at - self.start_at).total_seconds()
            if span < 0:
                raise ValueError(
                    f"end_at {self.end_at.isoformat()} is before start_at "
                    f"{self.start_at.isoformat()}"
                )
            if span > MAX_CAPTION_S:
                raise ValueError(
                    f"end_at is {span:.0f} s after start_at; a caption is on air at most "
                    f"{MAX_CAPTION_S:g} s (check the broadcaster's clock)"
                )
        return self


class Caption(BaseModel):
    """A stored caption as the API returns it."""

    channel: int
    seq: int
    text: str
    final: bool
    revision: int
    language: str | None
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    words: list[Word] | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CaptionList(BaseModel):
    """History listing."""

    captions: list[Caption]


class ChannelInfo(BaseModel):
    """A channel (public part: no tokens)."""

    id: int
    name: str
    language: str | None


class ChannelList(BaseModel):
    """``GET /v1/channels``."""

    channels: list[ChannelInfo]


class LiveMessage(BaseModel):
    """One message on ``WS /v1/channels/{channel}/live``."""

    type: Literal["caption"] = "caption"
    cursor: int
    event: Literal["created", "updated"]
    caption: Caption


class ErrorOut(BaseModel):
    """Every error body: what went wrong and a stable machine code."""

    detail: str
    code: str
