"""Token-bucket rate limits kept in memory (per server process)."""

from __future__ import annotations

import time
from collections import OrderedDict

__all__ = ["RateLimiter"]


class RateLimiter:
    """Buckets per key refilling at ``rate_per_s`` up to ``burst``.

    Memory is bounded by ``max_keys``: past it the least recently seen key is forgotten, one per
    new key. A client spraying new keys (addresses) therefore evicts only keys idle longer than
    every one it sent since, never the bucket of a key that is still asking (earlier versions
    cleared every bucket at once, so one client could reset everyone's limit).

    Parameters
    ----------
    rate_per_s : float
        Refill rate, requests per second.
    burst : int
        Bucket size, requests.
    max_keys : int
        Buckets kept at most.
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._b: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    def __len__(self) -> int:
        """Buckets held now."""
        return len(self._b)

    def allow(self, key: str) -> bool:
        """Take one request from ``key``'s bucket; False when it is empty."""
        now = time.monotonic()
        got = self._b.get(key)
        if got is None:
            level, t = self.burst, now
            while len(self._b) >= self._max_keys:
                self._b.popitem(last=False)
        else:
            level, t = got
            self._b.move_to_end(key)
        level = min(self.burst, level + (now - t) * self.rate)
        if level < 1.0:
            self._b[key] = (level, now)
            return False
        self._b[key] = (level - 1.0, now)
        return True
