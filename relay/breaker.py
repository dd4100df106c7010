"""Per-subscription circuit breakers: after ``delivery.breaker.failures`` consecutive
failures an endpoint's deliveries wait ``cooldown_s`` instead of hammering it.

State lives in storage (``subscriptions.consecutive_failures``, ``failing_since``,
``breaker_open_until``) so every worker sees the same breaker; this module holds the
policy and a per-worker view refreshed at every job.

- closed: attempts go out;
- open (``breaker_open_until`` in the future): attempts are postponed until then;
- half-open (cooldown over): exactly one caller wins ``claim_probe`` and sends one
  attempt, holding the breaker open for everyone else meanwhile. A success closes
  the breaker and makes the deliveries it held back due at once; a failure opens it
  for another cooldown.

A subscription failing without a break for ``delivery.disable_after`` is disabled
(its pending deliveries cancelled) by the caller, who announces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from core.clock import SECOND_US
from core.config import DeliveryConfig
from storage.deliveries import Deliveries
from storage.records import Health
from storage.subscriptions import Subscriptions


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether an attempt may go out now: ``closed`` or ``probe`` yes, ``open`` not
    before ``until`` (unix µs; for a probe, how long it holds the breaker)."""

    state: Literal["closed", "probe", "open"]
    until: int | None = None


CLOSED = Gate("closed")


class Breakers:
    """The breakers of every subscription, as this worker last saw them."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        deliveries: Deliveries,
        config: DeliveryConfig,
        probe_hold_s: float,
    ) -> None:
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._config = config
        self._probe_hold_us = int(probe_hold_s * SECOND_US)
        self._view: dict[str, Health] = {}

    def refresh(self, health: Mapping[str, Health]) -> None:
        """Take the health just read from storage."""
        self._view.update(health)

    async def gate(self, subscription_id: str, now: int) -> Gate:
        """May an attempt to this subscription go out at ``now``?"""
        health = self._view.get(subscription_id, Health())
        open_until = health.breaker_open_until
        if open_until is None:
            return CLOSED
        if open_until > now:
            return Gate("open", open_until)
        hold = now + self._probe_hold_us
        self._view[subscription_id] = replace(health, breaker_open_until=hold)
        if await self._subscriptions.claim_probe(subscription_id, hold, now):
            return Gate("probe", hold)
        return Gate("open", hold)

    def healthy(self, subscription_id: str) -> bool:
        """Whether storage, as last seen, holds no failure or breaker for the subscription."""
        return self._view.get(subscription_id, Health()) == Health()

    def is_open(self, subscription_id: str, now: int) -> bool:
        """Whether the breaker opened meanwhile (checked again after waiting for a slot)."""
        open_until = self._view.get(subscription_id, Health()).breaker_open_until
        return open_until is not None and open_until > now

    async def succeeded(self, subscription_id: str, gate: Gate, now: int) -> None:
        """The endpoint answered (storage's counts were reset with the attempt's record)."""
        self._view[subscription_id] = Health()
        if gate.state == "probe" and gate.until is not None:
            await self._deliveries.expedite(subscription_id, not_after=gate.until, now=now)

    async def failed(self, subscription_id: str, now: int) -> bool:
        """Count a failure, opening the breaker if due; whether the subscription has now
        failed for ``disable_after`` and must be disabled."""
        health = await self._subscriptions.note_failure(subscription_id, now)
        failing_for = now - (health.failing_since or now)
        if failing_for >= self._config.disable_after_s * SECOND_US:
            return True
        if health.consecutive_failures >= self._config.breaker.failures:
            until = now + int(self._config.breaker.cooldown_s * SECOND_US)
            await self._subscriptions.open_breaker(subscription_id, until)
            health = replace(health, breaker_open_until=until)
        self._view[subscription_id] = health
        return False
