"""archive_server.ratelimit: token buckets per key with bounded memory."""

from __future__ import annotations

from archive_server.ratelimit import RateLimiter


def test_bucket_empties_and_refuses() -> None:
    lim = RateLimiter(rate_per_s=0.001, burst=3)
    assert [lim.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert lim.allow("b")  # another key has its own bucket


def test_new_keys_do_not_reset_an_active_clients_limit() -> None:
    # A client spraying new addresses past max_keys must not refill the bucket of one that is
    # still asking (the old clear() emptied every bucket, so "a" got its burst back).
    lim = RateLimiter(rate_per_s=0.001, burst=2, max_keys=4)
    assert lim.allow("a") and lim.allow("a") and not lim.allow("a")
    for i in range(3):
        assert lim.allow(f"spray{i}")
        assert not lim.allow("a")  # "a" keeps asking: it stays the most recent, never evicted
    assert len(lim) == 4
    for i in range(3, 10):
        assert lim.allow(f"spray{i}")
        assert not lim.allow("a")
    assert len(lim) <= 4


def test_memory_bounded_by_evicting_the_least_recent() -> None:
    lim = RateLimiter(rate_per_s=0.001, burst=1, max_keys=3)
    for k in "abc":
        assert lim.allow(k)
    assert lim.allow("d")  # evicts "a", the least recently seen
    assert len(lim) == 3
    assert not lim.allow("b") and not lim.allow("c") and not lim.allow("d")
    assert lim.allow("a")  # forgotten, so it starts with a full bucket again
