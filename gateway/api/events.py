"""``/events``: stored webhooks, with their exact bodies, and replays.

A member sees only the events behind deliveries to its own subscriptions; operators
and admins see every event. A replay creates fresh deliveries of the event to every
target that matches it now (``policy.matching``: enabled subscriptions, configured
handlers) and hands them to the relay; receivers get the same ``webhook-id``.
"""

from __future__ import annotations

import structlog

from core.config import Config
from core.queue import Queue
from gateway.api import jobs
from gateway.api.access import owner_scope
from gateway.api.inputs import field_problem, invalid
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.deliveries import DeliveryBatch, DeliveryOut
from gateway.api.schemas.events import EventDetail, EventOut, EventPage, EventQuery
from gateway.api.schemas.jobs import BulkReplayIn, JobOut, MatchedOut
from gateway.api.times import optional_micros
from gateway.problems import ProblemError
from policy.matching import targets_for
from storage import NotFoundError, Storage
from storage.events import ReplayFilter
from storage.records import Delivery, Event, User

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
    return Reply(
        200, EventDetail.with_body(await visible_event(call.storage, call.user, call.path("id")))
    )


async def visible_event(storage: Storage, user: User, event_id: str) -> Event:
    """The event with its body, if ``user`` may read it (a member: only an event behind a
    delivery to its own subscriptions); else 404."""
    owner_id = owner_scope(user)
    if owner_id is not None:
        behind = await storage.deliveries.page(event_id=event_id, owner_id=owner_id, limit=1)
        if not behind.items:
            raise ProblemError(404, f"no event {event_id}")
    return await storage.events.get(event_id)


async def replay_event(call: Call) -> Reply:
    """Deliver the event again to every target that matches it now, as fresh deliveries.
    Operators and admins."""
    deliveries = await replay(call.storage, call.queue, call.config, call.path("id"))
    return Reply(202, DeliveryBatch(data=[DeliveryOut.of(delivery) for delivery in deliveries]))


async def replay(storage: Storage, queue: Queue, config: Config, event_id: str) -> list[Delivery]:
    """Fresh deliveries of the event to every target matching it now, handed to the relay
    (the API's and the console's one replay)."""
    event = await storage.events.get(event_id)
    subscriptions = await storage.subscriptions.enabled()
    plan = (event.id, targets_for(event, subscriptions, config.handlers))
    created = await storage.deliveries.create([plan], first_dispatch=False)
    deliveries = created[event.id]
    await queue.deliver([delivery.id for delivery in deliveries])
    log.info("event_replayed", event_id=event.id, deliveries=len(deliveries))
    return deliveries


async def replay_events(call: Call) -> Reply:
    """Replay every event the filters select, as a stored job (202, follow `Location`):
    each gets fresh deliveries to the targets matching it now, as a single replay, or
    to `subscription_id` only. `dry_run` answers only how many events would be
    replayed. Operators and admins."""
    body = call.body_as(BulkReplayIn)
    since, until = jobs.time_span(body.since, body.until)
    if body.subscription_id is not None:
        await _require_subscription(call.storage, body.subscription_id)
    f = ReplayFilter(
        source=body.source,
        event_type=body.event_type,
        event_types=await jobs.event_types(call.storage, body.event_type, body.source),
        since=since,
        until=until,
        subscription_id=body.subscription_id,
    )
    return await jobs.start(call, f, dry_run=body.dry_run)


async def _require_subscription(storage: Storage, subscription_id: str) -> None:
    try:
        await storage.subscriptions.get(subscription_id)
    except NotFoundError as e:
        raise invalid([field_problem("body", "subscription_id", "names no subscription")]) from e


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
    api.post(
        "/events/replay",
        replay_events,
        "Replay events in bulk",
        {200: MatchedOut, 202: JobOut},
        role="operator",
        body=BulkReplayIn,
        body_required=False,
    ),
)
