"""``/console/events``: the stored webhooks, one event's page, and replaying it.

Reads and the replay are the API's (``gateway.api.events``): a member sees only the
events behind deliveries to its own subscriptions, and only operators and admins may
replay.
"""

from __future__ import annotations

from aiohttp import web

from gateway import state
from gateway.api.access import owner_scope, require_role
from gateway.api.events import replay, visible_event
from gateway.console.pages import optional, pretty_body, render, see_other, time_filter
from gateway.console.session import signed

PAGE_SIZE = 50


async def list_events(request: web.Request) -> web.Response:
    """Events newest first, filtered by source, type, time received and provider id."""
    storage = request.config_dict[state.STORAGE]
    owner_id = owner_scope(signed(request).user)
    query = request.query
    page = await storage.events.page(
        source=optional(query, "source"),
        event_type=optional(query, "type"),
        since=time_filter(query, "since"),
        until=time_filter(query, "until"),
        provider_event_id=optional(query, "provider_event_id"),
        owner_id=owner_id,
        limit=PAGE_SIZE,
        cursor=optional(query, "cursor"),
    )
    counts = await storage.deliveries.count_by_event([e.id for e in page.items], owner_id)
    next_url = None
    if page.next_cursor is not None:
        next_url = request.rel_url.update_query(cursor=page.next_cursor)
    sources = sorted(source.name for source in request.config_dict[state.CONFIG].sources)
    context = {
        "events": page.items,
        "counts": counts,
        "next_url": next_url,
        "query": query,
        "sources": sources,
    }
    return render(request, "events.html", context, nav="events")


async def show_event(request: web.Request) -> web.Response:
    """One event: metadata, headers, body (pretty-printed JSON), its deliveries."""
    storage = request.config_dict[state.STORAGE]
    user = signed(request).user
    event = await visible_event(storage, user, request.match_info["id"])
    deliveries = await storage.deliveries.page(event_id=event.id, owner_id=owner_scope(user))
    body, is_json = pretty_body(event.body)
    context = {"event": event, "body": body, "is_json": is_json, "deliveries": deliveries.items}
    return render(request, "event.html", context, nav="events")


async def replay_event(request: web.Request) -> web.Response:
    """Deliver the event again to every target matching it now (operators, admins)."""
    require_role(signed(request).user, "operator")
    app = request.config_dict
    event_id = request.match_info["id"]
    await replay(app[state.STORAGE], app[state.QUEUE], app[state.CONFIG], event_id)
    return see_other(f"/console/events/{event_id}?replayed=1")
