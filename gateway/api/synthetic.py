"""The synthetic event of ``POST /subscriptions/{id}/test``, sent the real way.

It is stored as an event of the operational source ``hookgate`` with type
``hookgate.test`` (so no other subscription matches it), dispatched to the one
subscription in the same transaction that marks it dispatched (so the sweeper never
fans it out; if the sweeper dispatched it first, to handlers only, the subscription
still gets its delivery), and attempted by the relay like any delivery: signed, recorded, retried.
"""

from __future__ import annotations

import secrets

import orjson

from core.clock import now_us
from core.config import OPERATIONAL_SOURCE
from storage import Storage
from storage.records import Delivery, NewEvent, Subscription, Target

TEST_EVENT_TYPE = "hookgate.test"


def synthetic_event(subscription: Subscription, now: int) -> NewEvent:
    """The synthetic event for ``subscription`` at ``now`` (unix microseconds)."""
    provider_event_id = f"test_{secrets.token_hex(12)}"
    body = {
        "type": TEST_EVENT_TYPE,
        "id": provider_event_id,
        "subscription_id": subscription.id,
        "message": "This is a test event sent by hookgate.",
    }
    return NewEvent(
        source=OPERATIONAL_SOURCE,
        type=TEST_EVENT_TYPE,
        provider_event_id=provider_event_id,
        headers={"content-type": "application/json"},
        body=orjson.dumps(body),
        received_at=now,
    )


async def send_test_event(storage: Storage, subscription: Subscription) -> Delivery:
    """Store a test event and its one delivery to ``subscription``, due now."""
    stored = await storage.events.store(synthetic_event(subscription, now_us()))
    plan = (stored.id, [Target(subscription.id, subscription.fields.url)])
    created = await storage.deliveries.create([plan], first_dispatch=False)
    return created[stored.id][0]
