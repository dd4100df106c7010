"""What a recorded attempt means beyond its delivery.

For the endpoint (subscriptions only): a success closes its breaker (and, after a
probe, makes the deliveries the breaker held back due at once); a failure counts
toward opening it, except an ``ssrf_blocked`` one, which says nothing about the
endpoint. 410 Gone disables the subscription at once; failing without a success for
``delivery.disable_after`` disables it too. Each disabling is announced
(``subscription.disabled``), and so is a delivery that gave up (``delivery.failed``).
"""

from __future__ import annotations

import structlog

from core.config import DeliveryConfig
from relay import backoff
from relay.breaker import Breakers, Gate
from relay.operational import Announcer
from storage.records import Delivery, Event, Outcome, Subscription
from storage.subscriptions import Subscriptions

log = structlog.get_logger()
DAY_S = 86_400


class Consequences:
    """Follows up recorded attempts: breaker counts, disabling, announcements."""

    def __init__(
        self,
        *,
        subscriptions: Subscriptions,
        breakers: Breakers,
        announcer: Announcer,
        config: DeliveryConfig,
    ) -> None:
        self._subscriptions = subscriptions
        self._breakers = breakers
        self._announcer = announcer
        self._config = config

    async def follow(
        self,
        outcome: Outcome,
        *,
        event: Event,
        subscription: Subscription | None,
        gate: Gate,
        recorded: Delivery | None,
        now: int,
    ) -> None:
        """Act on the judged ``outcome`` of an attempt of ``event`` at ``now`` (through
        ``gate``), whose delivery is ``recorded`` after it (None if it no longer exists)."""
        if subscription is not None:
            await self._judge_endpoint(subscription, gate, outcome, now)
        if recorded is not None and recorded.status == "failed":
            await self._announcer.delivery_failed(recorded, event, outcome, now)

    async def _judge_endpoint(
        self, subscription: Subscription, gate: Gate, outcome: Outcome, now: int
    ) -> None:
        if outcome.succeeded:
            await self._breakers.succeeded(subscription.id, gate, now)
        elif outcome.response_status == backoff.GONE:
            await self._disable(subscription, "the endpoint answered 410 Gone", now)
        elif outcome.error != "ssrf_blocked" and await self._breakers.failed(subscription.id, now):
            days = self._config.disable_after_s / DAY_S
            await self._disable(
                subscription, f"the endpoint failed without a success for {days:g} days", now
            )

    async def _disable(self, subscription: Subscription, reason: str, now: int) -> None:
        if await self._subscriptions.disable(subscription.id, reason, now):
            log.warning("subscription_disabled", subscription_id=subscription.id, reason=reason)
            await self._announcer.subscription_disabled(subscription, reason, now)
