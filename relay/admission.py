"""Admission: may an attempt go out now, or does its delivery wait in storage?

An attempt to a subscription passes the subscription's breaker (``relay.breaker``),
then a slot and a rate token within the admission wait (``relay.limits``). If either
says not now, the delivery is **postponed**: its lease released and its
``next_attempt_at`` moved to when the breaker or the capacity should allow it. A
postponed delivery has used up no attempt. Handlers (no subscription) skip the breaker
and per-subscription limits. A worker that began to stop releases the delivery
instead, so another worker takes it at once.

The breaker is asked twice: before waiting for a slot, and again after, because it may
have opened meanwhile (another attempt to the endpoint failed while this one waited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.clock import SECOND_US, Clock, now_us
from relay.breaker import CLOSED, Breakers, Gate
from relay.limits import Busy, Limits, Permit
from relay.metrics import RelayMetrics
from storage.deliveries import Deliveries
from storage.records import Delivery, Subscription


@dataclass(frozen=True, slots=True)
class Admitted:
    """An attempt may go out: through ``gate``, holding ``permit`` (release it once sent)."""

    gate: Gate
    permit: Permit


class Admission:
    """Admits attempts past their breaker and limits, or postpones their deliveries."""

    def __init__(
        self,
        *,
        deliveries: Deliveries,
        limits: Limits,
        breakers: Breakers,
        metrics: RelayMetrics,
        closing: Callable[[], bool],
        clock: Clock = now_us,
    ) -> None:
        self._deliveries = deliveries
        self._limits = limits
        self._breakers = breakers
        self._metrics = metrics
        self._closing = closing
        self._clock = clock

    async def admit(self, delivery: Delivery, subscription: Subscription | None) -> Admitted | None:
        """``Admitted``, or None once the delivery is postponed (or released: closing)."""
        if self._closing():
            await self._deliveries.release([delivery.id])
            return None
        gate = CLOSED
        if subscription is not None:
            gate = await self._breakers.gate(subscription.id, self._clock())
            if gate.state == "open" and gate.until is not None:
                await self._postpone(delivery, gate.until)
                return None
        permit = await self._limits.admit(
            None if subscription is None else subscription.id,
            None if subscription is None else subscription.fields.rate_limit_per_s,
        )
        if isinstance(permit, Busy):
            await self._postpone(delivery, self._clock() + int(permit.retry_in_s * SECOND_US))
            return None
        try:
            if await self._refused_after_wait(delivery, subscription, gate):
                permit.release()
                return None
        except BaseException:
            permit.release()
            raise
        return Admitted(gate, permit)

    async def _refused_after_wait(
        self, delivery: Delivery, subscription: Subscription | None, gate: Gate
    ) -> bool:
        """Whether, while the attempt waited for a slot, the worker began to stop or the
        breaker opened (then the delivery is released or postponed)."""
        if self._closing():
            await self._deliveries.release([delivery.id])
            return True
        if (
            subscription is not None
            and gate.state == "closed"
            and self._breakers.is_open(subscription.id, self._clock())
        ):
            await self._postpone(delivery, self._clock())
            return True
        return False

    async def _postpone(self, delivery: Delivery, until: int) -> None:
        await self._deliveries.postpone([delivery.id], until)
        self._metrics.deliveries.labels("postponed").inc()
