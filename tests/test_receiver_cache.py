"""receiver_app.fetcher.CaptionCache: bounded, least recently used out, never an older revision."""

from __future__ import annotations

from archive_client import Caption
from receiver_app.fetcher import CaptionCache


def _cap(seq: int, revision: int, text: str) -> Caption:
    return Caption.model_validate(
        {
            "channel": 7,
            "seq": seq,
            "revision": revision,
            "text": text,
            "final": True,
            "created_at": "2026-12-04T06:00:00Z",
            "updated_at": "2026-12-04T06:00:01Z",
        }
    )


def test_bounded_lru_and_hits() -> None:
    cache = CaptionCache(2)
    cache.put((7, 1), _cap(1, 1, "a"))
    cache.put((7, 2), _cap(2, 1, "b"))
    assert cache.get((7, 1)) is not None  # 1 becomes the most recent
    cache.put((7, 3), _cap(3, 1, "c"))  # evicts 2
    assert [cache.get((7, s)) is not None for s in (1, 2, 3)] == [True, False, True]
    assert cache.hits == 3


def test_an_older_revision_never_replaces_a_newer_one() -> None:
    cache = CaptionCache(4)
    cache.put((7, 1), _cap(1, 2, "final text"))
    cache.put((7, 1), _cap(1, 1, "first words"))
    assert cache.get((7, 1)).text == "final text"
    cache.put((7, 1), _cap(1, 3, "corrected"))
    assert cache.get((7, 1)).text == "corrected"
