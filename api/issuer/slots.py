"""The order in which a status list's slots are handed out: a secret, keyed permutation.

Allocation takes the next position of a per-list cursor (a counter row in the registry) and
hands out slot `SlotOrder(key, size).slot(position)`: every slot exactly once, with no table
of free slots and no search, so an allocation costs the same whether the list is empty or
nearly full. The permutation is a small Feistel network over the smallest even number of bits
that covers the list, keyed by HMAC-SHA-256, walked in cycles until it lands inside the list.
Without the key the slots look random, so a card's status index does not tell when it was
issued among the cards of its list (herd privacy). The key is derived from the issuer's secret
pepper (api.issuer.config), never stored in the registry.
"""

from __future__ import annotations

import hashlib
import hmac

_ROUNDS = 6


def slot_key(pepper: bytes, list_id: str) -> bytes:
    """The permutation key of status list `list_id`."""
    return hmac.new(pepper, b"citycard status slots\x00" + list_id.encode(), hashlib.sha256).digest()


class SlotOrder:
    """A keyed permutation of range(size)."""

    def __init__(self, key: bytes, size: int) -> None:
        if size < 1:
            raise ValueError("a status list has at least one slot")
        self.size = size
        self._half = max(1, ((size - 1).bit_length() + 1) // 2)
        self._mask = (1 << self._half) - 1
        self._rounds = [hmac.new(key, bytes([r]), hashlib.sha256) for r in range(_ROUNDS)]

    def _round(self, r: int, value: int) -> int:
        mac = self._rounds[r].copy()
        mac.update(value.to_bytes(8, "big"))
        return int.from_bytes(mac.digest()[:8], "big") & self._mask

    def _feistel(self, x: int) -> int:
        left, right = x >> self._half, x & self._mask
        for r in range(_ROUNDS):
            left, right = right, left ^ self._round(r, right)
        return (left << self._half) | right

    def slot(self, position: int) -> int:
        """The slot handed out at `position` (0 <= position < size)."""
        if not 0 <= position < self.size:
            raise ValueError(f"position {position} is outside a list of {self.size}")
        x = self._feistel(position)
        while x >= self.size:  # cycle-walking: at most a few steps (the domain is < 4x size)
            x = self._feistel(x)
        return x
