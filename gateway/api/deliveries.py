"""``/deliveries``: one event to one target, with every attempt; and retries.

A member sees only the deliveries to its own subscriptions (never a handler's);
operators and admins see all. A retry makes the delivery pending and due now, whatever
its status, and hands it to the relay; its attempts are kept and counted on.
"""

from __future__ import annotations

import structlog

from gateway.api.access import owner_scope
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.deliveries import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
)
from gateway.api.times import optional_micros
from gateway.problems import ProblemError
from storage import NotFoundError

log = structlog.get_logger()
TAG = "deliveries"


async def list_deliveries(call: Call) -> Reply:
    """Deliveries, newest first; filter by ``status``, ``subscription_id``, ``event_id``
    and creation time (``since`` inclusive, ``until`` exclusive)."""
    query = call.query_as(DeliveryQuery)
    page = await call.storage.deliveries.page(
        status=query.status,
        subscription_id=query.subscription_id,
        event_id=query.event_id,
        since=optional_micros(query.since),
        until=optional_micros(query.until),
        owner_id=owner_scope(call.user),
        limit=query.limit,
        cursor=query.cursor,
    )
    rows = [DeliveryOut.row(delivery) for delivery in page.items]
    return Reply(200, page_json(rows, page.next_cursor))


async def get_delivery(call: Call) -> Reply:
    """A delivery with every attempt, first to last."""
    delivery = await call.storage.deliveries.get(call.path("id"), owner_scope(call.user))
    attempts = await call.storage.attempts.for_delivery(delivery.id)
    return Reply(200, DeliveryDetail.with_attempts(delivery, attempts))


async def retry_delivery(call: Call) -> Reply:
    """Make the delivery pending and due now, and attempt it. Operators and admins.
    A delivery whose subscription was deleted or is disabled cannot be retried (409)."""
    delivery = await call.storage.deliveries.get(call.path("id"))
    if delivery.subscription_id is not None:
        await _require_live(call, delivery.subscription_id)
    delivery = await call.storage.deliveries.retry(delivery.id)
    await call.queue.deliver([delivery.id])
    log.info("delivery_retried", delivery_id=delivery.id)
    return Reply(202, DeliveryOut.of(delivery))


async def _require_live(call: Call, subscription_id: str) -> None:
    try:
        subscription = await call.storage.subscriptions.get(subscription_id)
    except NotFoundError as e:
        raise ProblemError(409, "its subscription was deleted") from e
    if not subscription.fields.enabled:
        raise ProblemError(409, "its subscription is disabled; enable it first")


api = Routes(TAG)
OPERATIONS = (
    api.get(
        "/deliveries", list_deliveries, "List deliveries", {200: DeliveryPage}, query=DeliveryQuery
    ),
    api.get("/deliveries/{id}", get_delivery, "Get a delivery", {200: DeliveryDetail}),
    api.post(
        "/deliveries/{id}/retry",
        retry_delivery,
        "Retry a delivery",
        {202: DeliveryOut},
        role="operator",
        problems=(409,),
    ),
)
