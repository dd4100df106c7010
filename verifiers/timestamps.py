"""Replay windows: a signed timestamp checked in the provider's own direction."""

from __future__ import annotations

from verifiers.errors import MalformedRequestError, TimestampOutOfToleranceError


def parse_seconds(value: str) -> float:
    """A unix timestamp in unsigned integer seconds, or ``MalformedRequestError``."""
    stripped = value.strip()
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > 20:
        raise MalformedRequestError("timestamp is not an unsigned integer")
    return float(int(stripped))


def check_age(timestamp: float, now: float, tolerance_s: float | None, *, future_too: bool) -> None:
    """Refuse a timestamp older than ``tolerance_s``, and newer too when ``future_too``.

    Some SDKs (Stripe, Paddle, HubSpot) reject only old timestamps; others (Slack,
    Standard Webhooks) check both ways. A None tolerance disables the check.
    """
    if tolerance_s is None:
        return
    if now - timestamp > tolerance_s:
        raise TimestampOutOfToleranceError("timestamp too old")
    if future_too and timestamp - now > tolerance_s:
        raise TimestampOutOfToleranceError("timestamp in the future")
