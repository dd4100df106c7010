"""When a failed delivery is tried again: the one module that owns the retry policy.

A delivery is tried once, then **retried** up to ``delivery.max_attempts`` times, so
it gets at most ``1 + max_attempts`` attempts. The delay before retry ``n`` (1-based)
is ``initial_s · multiplierⁿ⁻¹``, capped at ``max_s``, times a uniform jitter factor
in ``[1 - jitter, 1 + jitter]``, and never above ``max_s``.

Why retries and not attempts: SPEC §6 wants the default schedule to span at least
24 hours, but its defaults (8, 5 s · 6ⁿ, capped at 10 h) give only ~22.2 h between
the first and the 8th attempt (5 + 30 + 180 + 1 080 + 6 480 + 36 000 + 36 000 s). Read
as retries, the 9th attempt comes ~32 h after the first, without changing any default.

A subscription's own ``retry`` (``RetryPolicy``: ``max_attempts`` and the backoff's
``initial_s``, ``multiplier``, ``max_s``) overrides those settings for its deliveries;
what it leaves out, and ``jitter``, come from the config (``policy_for``).

Special answers:
- ``Retry-After`` on 429 or 503 (seconds or an HTTP date) moves the next attempt to
  the later of the schedule and the header, capped at ``max_s``;
- 410 Gone fails the delivery at once (the caller also disables the subscription);
- an ``ssrf_blocked`` attempt fails at once: retrying cannot make the address allowed.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC
from email.utils import parsedate_to_datetime

from core.clock import SECOND_US
from core.config import BackoffConfig, DeliveryConfig
from storage.records import Outcome, RetryPolicy

Random = Callable[[], float]
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410


def retry_delay_s(retry: int, policy: BackoffConfig, random: Random = _random.random) -> float:
    """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
    base = min(policy.max_s, policy.initial_s * policy.multiplier ** (retry - 1))
    factor = 1 + policy.jitter * (2 * random() - 1)
    return min(policy.max_s, base * factor)


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """The wait a ``Retry-After`` value asks for, in seconds; None if absent or malformed."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)


def policy_for(config: DeliveryConfig, retry: RetryPolicy | None) -> DeliveryConfig:
    """``config`` with a subscription's ``retry`` override applied (None: as it is)."""
    if retry is None:
        return config
    backoff = config.backoff
    return replace(
        config,
        max_attempts=config.max_attempts if retry.max_attempts is None else retry.max_attempts,
        backoff=replace(
            backoff,
            initial_s=backoff.initial_s if retry.initial_s is None else retry.initial_s,
            multiplier=backoff.multiplier if retry.multiplier is None else retry.multiplier,
            max_s=backoff.max_s if retry.max_s is None else retry.max_s,
        ),
    )


def judge(
    outcome: Outcome,
    attempt: int,
    config: DeliveryConfig,
    now_us: int,
    random: Random = _random.random,
    *,
    retry: RetryPolicy | None = None,
) -> Outcome:
    """``outcome`` of attempt number ``attempt`` (1-based), completed with what it means
    for its delivery: the new ``status`` and, if pending, ``next_attempt_at``. ``retry``
    is the subscription's own policy, if it has one (``policy_for``)."""
    config = policy_for(config, retry)
    if outcome.succeeded:
        return replace(outcome, status="succeeded", next_attempt_at=None)
    if (
        outcome.error == "ssrf_blocked"
        or outcome.response_status == GONE
        or attempt > config.max_attempts
    ):
        return replace(outcome, status="failed", next_attempt_at=None)
    delay = retry_delay_s(attempt, config.backoff, random)
    if outcome.response_status in RETRY_AFTER_STATUSES:
        asked = retry_after_s(_header(outcome.response_headers, "retry-after"), now_us / SECOND_US)
        if asked is not None:
            delay = max(delay, min(asked, config.backoff.max_s))
    return replace(outcome, status="pending", next_attempt_at=now_us + int(delay * SECOND_US))


def schedule_span_s(config: DeliveryConfig) -> float:
    """Seconds between the first and the last attempt without jitter (documentation, tests)."""
    plain = BackoffConfig(
        initial_s=config.backoff.initial_s,
        multiplier=config.backoff.multiplier,
        max_s=config.backoff.max_s,
        jitter=0.0,
    )
    return sum(retry_delay_s(n, plain) for n in range(1, config.max_attempts + 1))


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    return None if headers is None else headers.get(name)
