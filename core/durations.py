"""Durations written as ``300s``, ``12h``, ``5d``, ``90m`` or a bare number of seconds."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ``ValueError`` with a readable message when it is not a duration."""
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError("must be a duration such as 300s, 12h, 5d or a number of seconds")
    number, unit = match.groups()
    return float(number) * _UNITS[unit or "s"]
