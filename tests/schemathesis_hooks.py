"""Schemathesis hooks: keep generated captions within the rules JSON Schema cannot state.

The OpenAPI document states every single-field rule (lengths, ranges, the text ``pattern``); two
rules relate fields and are written in the schema's descriptions only: a caption's ``end_at`` is
not before its ``start_at`` and at most ``MAX_CAPTION_S`` after it, and a word's ``end`` is not
before its ``start``. Without this filter ``positive_data_acceptance`` would report those
refusals; with it every other schema-valid body must still be accepted. Loaded with
``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import schemathesis

from archive_server.models import MAX_CAPTION_S


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


@schemathesis.hook
def filter_body(ctx: Any, body: Any) -> bool:
    """Drop caption bodies that break a cross-field rule (anything else is kept)."""
    if not isinstance(body, dict):
        return True
    a, b = _time(body.get("start_at")), _time(body.get("end_at"))
    if a is not None and b is not None and not 0 <= (b - a).total_seconds() <= MAX_CAPTION_S:
        return False
    words = body.get("words")
    if isinstance(words, list):
        for w in words:
            if isinstance(w, dict):
                s, e = w.get("start"), w.get("end")
                if isinstance(s, int | float) and isinstance(e, int | float) and e < s:
                    return False
    return True
