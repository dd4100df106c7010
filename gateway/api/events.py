"""``/events``: stored webhooks, with their exact bodies, and replays.

A member sees only the events behind deliveries to its own subscriptions; operators
and admins see every event. A replay creates fresh deliveries of the event to every
target that matches it now (``policy.matching``: enabled subscriptions, configured
handlers) and hands them to the relay; receivers get the same ``webhook-id``.
"""

from __future__ import annotations

import structlog

from gateway.api.access import owner_scope
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.deliveries import DeliveryBatch, DeliveryOut
from gateway.api.schemas.events import EventDetail, EventOut, EventPage, EventQuery
from gateway.api.times import optional_micros
from gateway.problems import ProblemError
from policy.matching import targets_for

log = structlog.get_logger()
TAG = "events"


async def list_events(call: Call) -> Reply:
    """Events, newest first, without bodies; filter by ``source``, ``event_type`` and the
    time received (``since`` inclusive, ``until`` exclusive)."""
    query = call.query_as(EventQuery)
    page = await call.storage.events.page(
        source=query.source,
        event_type=query.event_type,
        since=optional_micros(query.since),
        until=optional_micros(query.until),
        owner_id=owner_scope(call.user),
        limit=query.limit,
        cursor=query.cursor,
    )
    rows = [EventOut.row(event) for event in page.items]
    return Reply(200, page_json(rows, page.next_cursor))


async def get_event(call: Call) -> Reply:
    """An event with its raw body (``body_base64``) and, when it is JSON, parsed (``body``)."""
    event_id = call.path("id")
    owner_id = owner_scope(call.user)
    if owner_id is not None:
        behind = await call.storage.deliveries.page(event_id=event_id, owner_id=owner_id, limit=1)
        if not behind.items:
            raise ProblemError(404, f"no event {event_id}")
    return Reply(200, EventDetail.with_body(await call.storage.events.get(event_id)))


async def replay_event(call: Call) -> Reply:
    """Deliver the event again to every target that matches it now, as fresh deliveries.
    Operators and admins."""
    event = await call.storage.events.get(call.path("id"))
    subscriptions = await call.storage.subscriptions.enabled()
    plan = (event.id, targets_for(event, subscriptions, call.config.handlers))
    created = await call.storage.deliveries.create([plan], first_dispatch=False)
    deliveries = created[event.id]
    await call.queue.deliver([delivery.id for delivery in deliveries])
    log.info("event_replayed", event_id=event.id, deliveries=len(deliveries))
    return Reply(202, DeliveryBatch(data=[DeliveryOut.of(delivery) for delivery in deliveries]))


api = Routes(TAG)
OPERATIONS = (
    api.get("/events", list_events, "List events", {200: EventPage}, query=EventQuery),
    api.get("/events/{id}", get_event, "Get an event", {200: EventDetail}),
    api.post(
        "/events/{id}/replay",
        replay_event,
        "Replay an event",
        {202: DeliveryBatch},
        role="operator",
    ),
)
