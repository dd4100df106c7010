"""``/subscriptions``: the endpoints teams register, with their signing secrets.

POST answers the ``whsec_`` secret once; ``rotate-secret`` answers a new one and keeps
the old ones valid for ``grace_s`` (deliveries carry every valid signature meanwhile).
PUT replaces every owner-chosen field (those left out take their defaults), PATCH
only those sent; both are checked as a whole, like a creation. Routing fields: a
payload ``filter`` (checked by ``policy.filters`` at registration, 422 naming the bad
path), ``ordering`` (``none`` or ``fifo``) and a ``retry`` policy overriding
``delivery.*``; null clears the filter and the retry policy. Static header names
ignore case (storage keeps them lower-case, and their values encrypted).
Credential-like values are shown as ``<redacted>``; sending ``<redacted>`` back for a
header that has a stored value keeps it, so GET, edit, PUT round-trips. The marker
itself is never stored: sent for a header without a stored value, it is a 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import structlog

from core.config import Config
from core.queue import Queue
from gateway.api.access import owner_scope, require_changeable
from gateway.api.inputs import field_problem, invalid
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.common import ListQuery
from gateway.api.schemas.deliveries import DeliveryOut
from gateway.api.schemas.stats import SubscriptionStats, WindowQuery
from gateway.api.schemas.subscriptions import (
    RotateSecretIn,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
    SubscriptionWithSecret,
)
from gateway.api.synthetic import send_test_event
from gateway.api.targets import check_fields
from gateway.problems import ProblemError
from policy.redaction import REDACTED
from storage import Storage
from storage.records import Delivery, Subscription, SubscriptionFields

log = structlog.get_logger()
TAG = "subscriptions"


async def list_subscriptions(call: Call) -> Reply:
    """Subscriptions, newest first: a member's own, or everyone's for operators and admins."""
    query = call.query_as(ListQuery)
    page = await call.storage.subscriptions.page(
        owner_id=owner_scope(call.user), limit=query.limit, cursor=query.cursor
    )
    rows = [SubscriptionOut.row(subscription) for subscription in page.items]
    return Reply(200, page_json(rows, page.next_cursor))


async def create_subscription(call: Call) -> Reply:
    """Register an endpoint owned by the caller; the answer carries its signing secret,
    shown this once."""
    fields = _fields(call.body_as(SubscriptionIn))
    fields = check_fields(replace(fields, headers=_kept_headers(fields.headers, {})), call.config)
    subscription, secret = await call.storage.subscriptions.create(call.user.id, fields)
    log.info("subscription_created", subscription_id=subscription.id)
    location = call.location("get_subscription", id=subscription.id)
    created = SubscriptionWithSecret.with_secret(subscription, secret)
    return Reply(201, created, {"Location": location})


async def get_subscription(call: Call) -> Reply:
    """A subscription (a member's own only)."""
    return Reply(200, SubscriptionOut.of(await _visible(call)))


async def replace_subscription(call: Call) -> Reply:
    """Replace every owner-chosen field; fields left out take their defaults."""
    current = await _changeable(call)
    fields = _fields(call.body_as(SubscriptionIn))
    fields = replace(fields, headers=_kept_headers(fields.headers, current.fields.headers))
    return await _update(call, current, fields)


async def update_subscription(call: Call) -> Reply:
    """Change the fields sent; the others keep their value."""
    current = await _changeable(call)
    body = call.body_as(SubscriptionPatch)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "sources" in changes:
        changes["sources"] = tuple(changes["sources"])
    if "event_types" in changes:
        changes["event_types"] = tuple(changes["event_types"])
    if body.retry is not None:
        changes["retry"] = body.retry.policy()
    if "headers" in changes:
        changes["headers"] = _kept_headers(changes["headers"], current.fields.headers)
    return await _update(call, current, replace(current.fields, **changes))


async def delete_subscription(call: Call) -> Reply:
    """Delete a subscription: its pending deliveries are cancelled, its history kept."""
    subscription = await _changeable(call)
    await call.storage.subscriptions.delete(subscription.id)
    log.info("subscription_deleted", subscription_id=subscription.id)
    return Reply(204)


async def rotate_secret(call: Call) -> Reply:
    """Issue a new signing secret (shown this once). The current secrets stay valid for
    ``grace_s`` seconds (default a day): until then deliveries carry both signatures."""
    subscription = await _changeable(call)
    grace_s = call.body_as(RotateSecretIn).grace_s
    secret = await call.storage.subscriptions.rotate_secret(subscription.id, grace_s)
    log.info("subscription_secret_rotated", subscription_id=subscription.id, grace_s=grace_s)
    return Reply(200, SubscriptionWithSecret.with_secret(subscription, secret))


async def send_test(call: Call) -> Reply:
    """Send a synthetic event (source ``hookgate``, type ``hookgate.test``) to this
    subscription only, through the real delivery path: signed, recorded, retried. The
    answer is its delivery, to follow with ``GET /deliveries/{id}``."""
    delivery = await send_test_delivery(call.storage, call.queue, await _changeable(call))
    location = call.location("get_delivery", id=delivery.id)
    return Reply(202, DeliveryOut.of(delivery), {"Location": location})


async def send_test_delivery(
    storage: Storage, queue: Queue, subscription: Subscription
) -> Delivery:
    """Store a test event for ``subscription`` and hand its delivery to the relay (the
    API's and the console's one test); 409 if the subscription is disabled."""
    if not subscription.fields.enabled:
        raise ProblemError(409, "the subscription is disabled; enable it first")
    delivery = await send_test_event(storage, subscription)
    await queue.deliver([delivery.id])
    log.info("test_event_sent", subscription_id=subscription.id, delivery_id=delivery.id)
    return delivery


async def update_fields(
    storage: Storage, config: Config, current: Subscription, fields: SubscriptionFields
) -> Subscription:
    """Check ``fields`` (``check_fields``) and store them in place of ``current``'s (the
    API's and the console's one update)."""
    check_fields(fields, config)
    updated = await storage.subscriptions.update(current.id, fields)
    log.info("subscription_updated", subscription_id=updated.id)
    return updated


async def get_subscription_stats(call: Call) -> Reply:
    """Attempts to the subscription that started in ``window`` (default ``24h``, at most
    ``30d``): counts, success rate, latency percentiles and a 24-bucket series. A
    member's own subscriptions only."""
    subscription = await _visible(call)
    stats = call.storage.stats
    window = stats.window(call.query_as(WindowQuery).window_us)
    return Reply(200, SubscriptionStats.of(await stats.for_subscription(subscription.id, window)))


async def _visible(call: Call) -> Subscription:
    return await call.storage.subscriptions.get(call.path("id"), owner_scope(call.user))


async def _changeable(call: Call) -> Subscription:
    subscription = await _visible(call)
    require_changeable(call.user, subscription.owner_id, "subscription")
    return subscription


async def _update(call: Call, current: Subscription, fields: SubscriptionFields) -> Reply:
    updated = await update_fields(call.storage, call.config, current, fields)
    return Reply(200, SubscriptionOut.of(updated))


def _fields(body: SubscriptionIn) -> SubscriptionFields:
    return SubscriptionFields(
        url=body.url,
        description=body.description,
        sources=tuple(body.sources),
        event_types=tuple(body.event_types),
        enabled=body.enabled,
        headers=dict(body.headers),
        rate_limit_per_s=body.rate_limit_per_s,
        filter=body.filter,
        ordering=body.ordering,
        retry=None if body.retry is None else body.retry.policy(),
    )


def _kept_headers(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """``sent``, with each ``<redacted>`` value replaced by the stored one it stands for
    (``stored`` names are lower-case; sent ones may be in any case).

    A ``<redacted>`` with nothing stored to stand for is refused, naming the header: the
    marker would otherwise be stored, and delivered, as the value."""
    kept: dict[str, str] = {}
    unknown = []
    for name, value in sent.items():
        if value != REDACTED:
            kept[name] = value
        elif name.lower() in stored:
            kept[name] = stored[name.lower()]
        else:
            unknown.append(
                field_problem(
                    "body", f"headers.{name}", f"is {REDACTED} but no value is stored to keep"
                )
            )
    if unknown:
        raise invalid(unknown)
    return kept


api = Routes(TAG)
_LIST = "/subscriptions"
_ITEM = "/subscriptions/{id}"
OPERATIONS = (
    api.get(
        _LIST, list_subscriptions, "List subscriptions", {200: SubscriptionPage}, query=ListQuery
    ),
    api.post(
        _LIST,
        create_subscription,
        "Create a subscription",
        {201: SubscriptionWithSecret},
        body=SubscriptionIn,
    ),
    api.get(_ITEM, get_subscription, "Get a subscription", {200: SubscriptionOut}),
    api.put(
        _ITEM,
        replace_subscription,
        "Replace a subscription",
        {200: SubscriptionOut},
        body=SubscriptionIn,
    ),
    api.patch(
        _ITEM,
        update_subscription,
        "Update a subscription",
        {200: SubscriptionOut},
        body=SubscriptionPatch,
    ),
    api.delete(_ITEM, delete_subscription, "Delete a subscription", {204: None}),
    api.post(
        f"{_ITEM}/rotate-secret",
        rotate_secret,
        "Rotate the signing secret",
        {200: SubscriptionWithSecret},
        body=RotateSecretIn,
        body_required=False,
    ),
    api.post(f"{_ITEM}/test", send_test, "Send a test event", {202: DeliveryOut}, problems=(409,)),
    api.get(
        f"{_ITEM}/stats",
        get_subscription_stats,
        "Get a subscription's stats",
        {200: SubscriptionStats},
        query=WindowQuery,
    ),
)
