"""In-memory token buckets, one per key (a document number, a client network).

A bucket holds at most `burst` tokens and gains `per_hour` tokens an hour; each attempt takes
one. Buckets live in this process only (a restart forgets them) and at most `max_keys` are
kept: the least recently used are dropped first. A dropped bucket starts full again, which is
why self-revocation is limited per document number *and* per client network.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    def __init__(
        self,
        burst: int,
        per_hour: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_hour <= 0:
            raise ValueError("a bucket needs burst >= 1 and a positive refill rate")
        self.burst = float(burst)
        self.rate = per_hour / 3600.0  # tokens per second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


def network_key(address: str | None) -> str:
    """The rate-limit key of a client address: the address for IPv4, its /64 for IPv6
    (one host usually holds a whole /64, so per-address limits would be easy to dodge)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
