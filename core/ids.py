"""Prefixed, time-sortable ids: ``evt_01JD0Q6Y1M9ZC8X4W7S5T3R2QP``.

26 Crockford base32 characters after the prefix: 48 bits of milliseconds since the
epoch then 80 random bits, so ids sort by creation time as plain strings (keyset
pagination relies on that) and never collide in practice.
"""

from __future__ import annotations

import os

from core.clock import now_us

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"usr", "key", "sub", "evt", "dlv", "att", "sec", "job"})
_MAX_MS = (1 << 48) - 1


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A new id with ``prefix`` (one of ``PREFIXES``), sortable by ``now_ms``."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = now_us() // 1000 if now_ms is None else now_ms
    return _encoded(prefix, (millis << 80) | int.from_bytes(os.urandom(10), "big"))


def first_id(prefix: str, now_ms: int) -> str:
    """The smallest id ``new_id(prefix, now_ms)`` can make (a bound for time ranges);
    ``now_ms`` is clamped to the 48 bits an id holds."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return _encoded(prefix, max(0, min(now_ms, _MAX_MS)) << 80)


def _encoded(prefix: str, value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def has_prefix(value: str, prefix: str) -> bool:
    """Whether ``value`` looks like an id made by ``new_id(prefix)``."""
    head, sep, tail = value.partition("_")
    return head == prefix and sep == "_" and len(tail) == 26 and all(c in _ALPHABET for c in tail)
