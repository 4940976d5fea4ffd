"""Token-bucket rate limits kept in memory (one server process)."""

from __future__ import annotations

import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Buckets per key refilling at ``rate_per_s`` up to ``burst``.

    Parameters
    ----------
    rate_per_s : float
        Refill rate, requests per second.
    burst : int
        Bucket size, requests.
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._b: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    def allow(self, key: str) -> bool:
        """Take one request from ``key``'s bucket; False when it is empty."""
        now = time.monotonic()
        level, t = self._b.get(key, (self.burst, now))
        level = min(self.burst, level + (now - t) * self.rate)
        if level < 1.0:
            self._b[key] = (level, now)
            return False
        if len(self._b) >= self._max_keys and key not in self._b:
            self._b.clear()  # bounded memory under an address-spraying client
        self._b[key] = (level - 1.0, now)
        return True
