"""Operational events: how the relay tells people that something needs them.

When the relay disables a subscription (410 Gone, or failing for
``delivery.disable_after``) it emits ``subscription.disabled``; when a delivery gives
up (``failed``) it emits ``delivery.failed``. Each is stored as an ordinary event of
source ``hookgate`` with a JSON body::

    {"type": "delivery.failed", "occurred_at": "2026-…Z", "data": {…}}

and dispatched like any other event, so it is durable and delivered at least once,
with retries, to every **handler** whose ``sources`` list ``hookgate`` and whose
``event_types`` match (e.g. ``["subscription.*", "delivery.failed"]``). Subscriptions
never receive them (they concern other teams' endpoints). Nothing is stored when no
handler listens, and a failed delivery *of* an operational event announces nothing,
so a broken alerting handler cannot feed itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import orjson

from core.clock import SECOND_US
from core.config import OPERATIONAL_SOURCE, HandlerConfig
from policy.matching import type_matches
from storage.events import Events
from storage.records import Delivery, Event, NewEvent, Outcome, Subscription

SUBSCRIPTION_DISABLED = "subscription.disabled"
DELIVERY_FAILED = "delivery.failed"
# Enqueue a dispatch job, best effort (``core.queue.Queue.dispatch_events``): if Redis
# cannot take it, the sweeper dispatches the stored event a little later.
DispatchSoon = Callable[[list[str]], Awaitable[object]]


class Announcer:
    """Stores operational events for the handlers that want them."""

    def __init__(
        self, events: Events, handlers: Sequence[HandlerConfig], dispatch_soon: DispatchSoon
    ) -> None:
        self._events = events
        self._handlers = tuple(h for h in handlers if OPERATIONAL_SOURCE in h.sources)
        self._dispatch_soon = dispatch_soon

    async def subscription_disabled(
        self, subscription: Subscription, reason: str, now: int
    ) -> None:
        """Announce that the relay disabled ``subscription`` for ``reason``."""
        data = {
            "subscription_id": subscription.id,
            "owner_id": subscription.owner_id,
            "url": subscription.fields.url,
            "reason": reason,
        }
        await self._emit(SUBSCRIPTION_DISABLED, f"{subscription.id}:{now}", data, now)

    async def delivery_failed(
        self, delivery: Delivery, event: Event, outcome: Outcome, now: int
    ) -> None:
        """Announce that ``delivery`` of ``event`` gave up after ``outcome``."""
        if event.source == OPERATIONAL_SOURCE:
            return
        data = {
            "delivery_id": delivery.id,
            "event_id": event.id,
            "source": event.source,
            "event_type": event.type,
            "subscription_id": delivery.subscription_id,
            "target": delivery.target,
            "attempt_count": delivery.attempt_count,
            "last_status_code": outcome.response_status,
            "error": outcome.error,
            "error_detail": outcome.error_detail,
        }
        key = f"{delivery.id}:{delivery.attempt_count}"
        await self._emit(DELIVERY_FAILED, key, data, now)

    async def _emit(self, kind: str, key: str, data: Mapping[str, object], now: int) -> None:
        if not any(
            not h.event_types or any(type_matches(p, kind) for p in h.event_types)
            for h in self._handlers
        ):
            return
        occurred_at = datetime.fromtimestamp(now / SECOND_US, UTC)
        body = {"type": kind, "occurred_at": occurred_at.isoformat().replace("+00:00", "Z")}
        stored = await self._events.store(
            NewEvent(
                source=OPERATIONAL_SOURCE,
                type=kind,
                provider_event_id=f"{kind}:{key}",
                headers={"content-type": "application/json"},
                body=orjson.dumps({**body, "data": data}),
                received_at=now,
            )
        )
        if not stored.duplicate:
            await self._dispatch_soon([stored.id])
