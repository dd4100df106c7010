"""The retry policy, table-driven: schedule, jitter, Retry-After, 410, SSRF, exhaustion."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.config import BackoffConfig, DeliveryConfig
from relay.backoff import judge, retry_after_s, retry_delay_s, schedule_span_s
from storage.records import DeliveryStatus, Outcome, RetryPolicy

NOW_US = 1_700_000_000_000_000
SECOND = 1_000_000
NO_JITTER = BackoffConfig(initial_s=5, multiplier=6, max_s=36_000, jitter=0)


def failed(status: int | None = 500, **headers: str) -> Outcome:
    """A failed HTTP attempt."""
    return Outcome(
        NOW_US, 1.0, {}, response_status=status, response_headers=headers, error="http_status"
    )


@pytest.mark.parametrize(
    ("retry", "expected"),
    [(1, 5), (2, 30), (3, 180), (4, 1080), (5, 6480), (6, 36_000), (7, 36_000), (8, 36_000)],
)
def test_schedule_is_exponential_and_capped(retry: int, expected: float) -> None:
    """initial_s * multiplier^(n-1), capped at max_s."""
    assert expected == retry_delay_s(retry, NO_JITTER)


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 24.0), (0.5, 30.0), (1.0, 36.0)])
def test_jitter_spreads_the_delay_symmetrically(draw: float, expected: float) -> None:
    """jitter 0.2 spreads the 30 s retry over [24 s, 36 s]."""
    policy = replace(NO_JITTER, jitter=0.2)
    assert expected == pytest.approx(retry_delay_s(2, policy, lambda: draw))


def test_jitter_never_exceeds_max_s() -> None:
    """At the cap, jitter only shortens the wait: max_s is a maximum."""
    assert 36_000 == retry_delay_s(7, replace(NO_JITTER, jitter=0.2), lambda: 1.0)


def test_default_schedule_spans_at_least_a_day() -> None:
    """SPEC §6: 1 try + 8 retries with the default backoff span ≥ 24 h (~32 h)."""
    assert schedule_span_s(DeliveryConfig()) >= 24 * 3600
    assert 115_775 == schedule_span_s(DeliveryConfig())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 14 Nov 2023 22:15:00 GMT", 100.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_seconds_or_http_date(value: str | None, expected: float | None) -> None:
    """Retry-After as delta-seconds or an HTTP date (relative to now); junk is ignored."""
    assert expected == retry_after_s(value, NOW_US / SECOND)


@pytest.mark.parametrize(
    ("result", "attempt", "expected"),
    [
        (Outcome(NOW_US, 1.0, {}, response_status=200), 1, ("succeeded", None)),
        (failed(500), 1, ("pending", NOW_US + 5 * SECOND)),
        (failed(500), 8, ("pending", NOW_US + 36_000 * SECOND)),
        (failed(500), 9, ("failed", None)),
        (failed(410), 1, ("failed", None)),
        (failed(429, **{"retry-after": "60"}), 1, ("pending", NOW_US + 60 * SECOND)),
        (failed(503, **{"retry-after": "2"}), 2, ("pending", NOW_US + 30 * SECOND)),
        (failed(429, **{"retry-after": "999999"}), 1, ("pending", NOW_US + 36_000 * SECOND)),
        (failed(500, **{"retry-after": "60"}), 1, ("pending", NOW_US + 5 * SECOND)),
        (
            Outcome(NOW_US, 1.0, {}, error="ssrf_blocked", error_detail="loopback"),
            1,
            ("failed", None),
        ),
        (
            Outcome(NOW_US, 1.0, {}, error="timeout"),
            2,
            ("pending", NOW_US + 30 * SECOND),
        ),
    ],
)
def test_judge(result: Outcome, attempt: int, expected: tuple[DeliveryStatus, int | None]) -> None:
    """What each kind of attempt means for the delivery (defaults, no jitter); the rest of
    the outcome is kept as it was."""
    config = replace(DeliveryConfig(), backoff=NO_JITTER)
    judged = judge(result, attempt, config, NOW_US)
    assert expected == (judged.status, judged.next_attempt_at)
    assert replace(result, status=judged.status, next_attempt_at=judged.next_attempt_at) == judged


@pytest.mark.parametrize(
    ("retry", "attempt", "expected"),
    [
        (RetryPolicy(initial_s=2, multiplier=10, max_s=50), 2, ("pending", NOW_US + 20 * SECOND)),
        (RetryPolicy(initial_s=2, multiplier=10, max_s=50), 3, ("pending", NOW_US + 50 * SECOND)),
        (RetryPolicy(initial_s=2), 2, ("pending", NOW_US + 12 * SECOND)),
        (RetryPolicy(max_attempts=1), 2, ("failed", None)),
        (RetryPolicy(max_attempts=20), 10, ("pending", NOW_US + 36_000 * SECOND)),
        (None, 9, ("failed", None)),
    ],
)
def test_a_subscriptions_retry_policy_overrides_the_config(
    retry: RetryPolicy | None, attempt: int, expected: tuple[DeliveryStatus, int | None]
) -> None:
    """A subscription's ``retry`` replaces the settings it names; the others (and the
    jitter) stay as configured (8 retries, 5 s · 6ⁿ⁻¹ capped at 10 h)."""
    config = replace(DeliveryConfig(), backoff=NO_JITTER)
    judged = judge(failed(), attempt, config, NOW_US, retry=retry)
    assert expected == (judged.status, judged.next_attempt_at)
