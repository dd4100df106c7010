"""``/stats`` and ``/event-types``: what the gateway has been doing.

The overview (operators and admins) covers a window ending now (``window``, default
``24h``, at most ``30d``): events received by source, deliveries created by their
status, attempts in 24 buckets by outcome; and the backlog now (``pending``, the age
of the oldest pending delivery). A subscription's own stats are
``GET /subscriptions/{id}/stats``.

The event-type catalog lists every (source, type) seen, with how many events and when
the last arrived. A member sees only the types of the events behind deliveries to its
own subscriptions, counted over those events: no figure tells it of other members'
traffic.
"""

from __future__ import annotations

from gateway.api.access import owner_scope
from gateway.api.operations import Call, Reply, Routes
from gateway.api.schemas.stats import EventTypeList, EventTypeOut, OverviewOut, WindowQuery

TAG = "stats"


async def get_overview(call: Call) -> Reply:
    """The gateway's events, deliveries and attempts over ``window``, and its backlog.
    Operators and admins."""
    storage = call.storage
    window = storage.stats.window(call.query_as(WindowQuery).window_us)
    return Reply(200, OverviewOut.of(await storage.stats.overview(window)))


async def list_event_types(call: Call) -> Reply:
    """Every event type seen, by source then type, with its count and when it was last
    seen; a member's own only (those of events delivered to its subscriptions)."""
    seen = await call.storage.stats.event_types(owner_scope(call.user))
    return Reply(200, EventTypeList.model_construct(data=[EventTypeOut.of(t) for t in seen]))


api = Routes(TAG)
OPERATIONS = (
    api.get(
        "/stats",
        get_overview,
        "Overview of the gateway",
        {200: OverviewOut},
        role="operator",
        query=WindowQuery,
    ),
    api.get("/event-types", list_event_types, "List event types", {200: EventTypeList}),
)
