"""Request and response bodies of the HTTP API (pydantic), separate from the tables."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MAX_TEXT_CHARS",
    "Caption",
    "CaptionIn",
    "CaptionList",
    "ChannelInfo",
    "ChannelList",
    "ErrorOut",
    "LiveMessage",
    "Word",
]

#: Longest caption text accepted, characters.
MAX_TEXT_CHARS = 2000


def _no_control(value: str, what: str) -> str:
    # Control characters would corrupt the phone's display and subtitle files.
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(
                f"{what} contains a control character U+{ord(ch):04X} at index {i}; remove it"
            )
    return value


class Word(BaseModel):
    """One recognised word with its timing (seconds from utterance start) and confidence 0-1."""

    model_config = ConfigDict(extra="forbid")

    word: str = Field(max_length=200)
    start: float = Field(ge=0, le=86400)
    end: float = Field(ge=0, le=86400)
    conf: float = Field(ge=0, le=1)

    @field_validator("word")
    @classmethod
    def _word_clean(cls, v: str) -> str:
        return _no_control(v, "word")


class CaptionIn(BaseModel):
    """Body of ``PUT /v1/channels/{channel}/captions/{seq}``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT_CHARS)
    final: bool = True
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
