"""Client-side caption models: the server's JSON, with the server's limits (no FastAPI import).

``archive_server.models`` is the reference; these mirror it field for field, limits included, so
a broadcaster learns of a caption the archive would refuse before sending it (422 otherwise).
``tests/test_contracts.py`` checks that the two agree (schemas, and the verdict on a set of
bodies), so a change to one without the other fails the tests.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["MAX_TEXT_CHARS", "Caption", "CaptionIn", "LiveEvent", "Word"]

#: Longest caption text the archive accepts, characters.
MAX_TEXT_CHARS = 2000
#: Longest on-air span of one caption (``end_at - start_at``) the archive accepts, seconds.
MAX_CAPTION_S = 3600.0
#: Categories the archive refuses in text (controls, surrogates, line/paragraph separators), and
#: the same rule as the schema ``pattern`` it states.
_REFUSED = ("Cc", "Cs", "Zl", "Zp")
TEXT_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$"


def _no_control(value: str, what: str) -> str:
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _REFUSED:
            raise ValueError(
                f"{what} contains a control character or line break U+{ord(ch):04X} at index "
                f"{i}; remove it"
            )
    return value


class Word(BaseModel):
    """One recognised word: seconds from utterance start, confidence 0-1."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
    """What a broadcaster PUTs."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT_CHARS, json_schema_extra={"pattern": TEXT_PATTERN})
    final: bool = Field(default=True, strict=True)
    language: str | None = Field(
        default=None, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
    )
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
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
    """A stored caption."""

    model_config = ConfigDict(extra="ignore")

    channel: int
    seq: int
    text: str
    final: bool
    revision: int
    language: str | None = None
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    words: list[Word] | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class LiveEvent:
    """One live-feed message: resume from ``cursor``; ``event`` is "created" or "updated"."""

    cursor: int
    event: str
    caption: Caption
