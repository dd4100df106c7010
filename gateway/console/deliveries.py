"""``/console/deliveries``: deliveries with their attempts, and retrying them.

Reads are scoped as in the API (a member: its own subscriptions' deliveries only); a
retry is ``gateway.api.deliveries.retry``, for operators and admins. ``Retry all
matching`` starts the API's bulk retry job with the page's filters (its ``failed``
deliveries when no status is chosen) for anyone signed in — a member's job reaches only
its own subscriptions — and shows the job's page (``gateway.console.jobs``).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from gateway import state
from gateway.api import jobs
from gateway.api.access import owner_scope, require_role
from gateway.api.deliveries import retry, retry_filter
from gateway.api.schemas.jobs import BulkRetryIn
from gateway.console.pages import optional, pretty_body, render, see_other, text
from gateway.console.session import signed
from gateway.problems import ProblemError
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
        "retried_status": status if status in DELIVERY_STATUSES else "failed",
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


async def retry_matching(request: web.Request) -> web.Response:
    """``Retry all matching``: a bulk retry job of the deliveries the page's filters
    select (``failed`` ones when no status is chosen); the job's page."""
    form = await request.post()
    status = text(form, "status")
    values = {
        "status": [status or "failed"],
        "subscription_id": text(form, "subscription_id") or None,
        "event_id": text(form, "event_id") or None,
    }
    try:
        body = BulkRetryIn.model_validate(values)
    except ValidationError as e:
        raise ProblemError(422, "these filters cannot select deliveries to retry") from e
    app = request.config_dict
    storage, user = app[state.STORAGE], signed(request).user
    job = await jobs.create(
        storage, app[state.QUEUE], user, await retry_filter(storage, user, body)
    )
    return see_other(f"/console/jobs/{job.id}")
