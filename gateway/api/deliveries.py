"""``/deliveries``: one event to one target, with every attempt; and retries.

A member sees only the deliveries to its own subscriptions (never a handler's);
operators and admins see all. A retry makes the delivery pending and due now, whatever
its status, and hands it to the relay; its attempts are kept and counted on.
"""

from __future__ import annotations

import structlog

from core.queue import Queue
from gateway.api import jobs
from gateway.api.access import owner_scope
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.deliveries import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
)
from gateway.api.schemas.jobs import BulkRetryIn, JobOut, MatchedOut
from gateway.api.times import optional_micros
from gateway.problems import ProblemError
from storage import NotFoundError, Storage
from storage.records import Delivery, User
from storage.retries import RetryFilter

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
    delivery = await retry(call.storage, call.queue, call.path("id"))
    return Reply(202, DeliveryOut.of(delivery))


async def retry(storage: Storage, queue: Queue, delivery_id: str) -> Delivery:
    """Make the delivery pending and due now and hand it to the relay (the API's and the
    console's one retry); 409 if its subscription was deleted or is disabled."""
    delivery = await storage.deliveries.get(delivery_id)
    if delivery.subscription_id is not None:
        await _require_live(storage, delivery.subscription_id)
    delivery = await storage.deliveries.retry(delivery.id)
    await queue.deliver([delivery.id])
    log.info("delivery_retried", delivery_id=delivery.id)
    return delivery


async def _require_live(storage: Storage, subscription_id: str) -> None:
    try:
        subscription = await storage.subscriptions.get(subscription_id)
    except NotFoundError as e:
        raise ProblemError(409, "its subscription was deleted") from e
    if not subscription.fields.enabled:
        raise ProblemError(409, "its subscription is disabled; enable it first")


async def retry_deliveries(call: Call) -> Reply:
    """Retry every delivery the filters select, as a stored job (202, follow `Location`):
    each gets one new attempt as soon as possible (a `failed` one goes back to
    `pending`). A member's retry touches only deliveries to its own subscriptions;
    one whose subscription was deleted or is disabled is skipped. `dry_run` answers
    only how many would be retried."""
    body = call.body_as(BulkRetryIn)
    f = await retry_filter(call.storage, call.user, body)
    return await jobs.start(call, f, dry_run=body.dry_run)


async def retry_filter(storage: Storage, user: User, body: BulkRetryIn) -> RetryFilter:
    """The deliveries ``body`` selects within ``user``'s reach (a member: its own
    subscriptions'), as a bulk retry job keeps them (the API's and the console's)."""
    since, until = jobs.time_span(body.since, body.until)
    return RetryFilter(
        statuses=tuple(dict.fromkeys(body.status)),
        subscription_id=body.subscription_id,
        event_id=body.event_id,
        source=body.source,
        event_type=body.event_type,
        event_types=await jobs.event_types(storage, body.event_type, body.source),
        since=since,
        until=until,
        owner_id=owner_scope(user),
    )


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
    api.post(
        "/deliveries/retry",
        retry_deliveries,
        "Retry deliveries in bulk",
        {200: MatchedOut, 202: JobOut},
        body=BulkRetryIn,
        body_required=False,
    ),
)
