"""Client-side caption models (mirror the server's JSON; no FastAPI import)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

__all__ = ["Caption", "CaptionIn", "LiveEvent", "Word"]


class Word(BaseModel):
    """One recognised word: seconds from utterance start, confidence 0-1."""

    word: str
    start: float
    end: float
    conf: float


class CaptionIn(BaseModel):
    """What a broadcaster PUTs."""

    model_config = ConfigDict(extra="forbid")

    text: str
    final: bool = True
    language: str | None = None
    start_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    words: list[Word] | None = None


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
