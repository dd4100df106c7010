"""``/console/deliveries``: deliveries with their attempts, and retrying them.

Reads are scoped as in the API (a member: its own subscriptions' deliveries only); a
retry is ``gateway.api.deliveries.retry``, for operators and admins.
"""

from __future__ import annotations

from aiohttp import web

from gateway import state
from gateway.api.access import owner_scope, require_role
from gateway.api.deliveries import retry
from gateway.console.pages import optional, pretty_body, render, see_other
from gateway.console.session import signed
from storage.records import DELIVERY_STATUSES

PAGE_SIZE = 50


async def list_deliveries(request: web.Request) -> web.Response:
    """Deliveries newest first, filtered by status, subscription and event."""
    storage = request.config_dict[state.STORAGE]
    query = request.query
    status = optional(query, "status")
    page = await storage.deliveries.page(
        status=status if status in DELIVERY_STATUSES else None,
        subscription_id=optional(query, "subscription_id"),
        event_id=optional(query, "event_id"),
        owner_id=owner_scope(signed(request).user),
        limit=PAGE_SIZE,
        cursor=optional(query, "cursor"),
    )
    next_url = None
    if page.next_cursor is not None:
        next_url = request.rel_url.update_query(cursor=page.next_cursor)
    context = {
        "deliveries": page.items,
        "next_url": next_url,
        "query": query,
        "statuses": DELIVERY_STATUSES,
    }
    return render(request, "deliveries.html", context, nav="deliveries")


async def show_delivery(request: web.Request) -> web.Response:
    """One delivery and every attempt, first to last."""
    storage = request.config_dict[state.STORAGE]
    delivery = await storage.deliveries.get(
        request.match_info["id"], owner_scope(signed(request).user)
    )
    attempts = await storage.attempts.for_delivery(delivery.id)
    bodies = [pretty_body(attempt.response_body)[0] for attempt in attempts]
    context = {"delivery": delivery, "attempts": list(zip(attempts, bodies, strict=True))}
    return render(request, "delivery.html", context, nav="deliveries")


async def retry_delivery(request: web.Request) -> web.Response:
    """Make the delivery pending and due now (operators, admins)."""
    require_role(signed(request).user, "operator")
    app = request.config_dict
    delivery = await retry(app[state.STORAGE], app[state.QUEUE], request.match_info["id"])
    return see_other(f"/console/deliveries/{delivery.id}?retried=1")
