"""``/console/subscriptions``: endpoints with their health, registering and changing them.

Every change goes through the API's code: ``check_fields`` for what may be registered,
``update_fields`` for an edit or enabling, ``send_test_delivery`` for the test event,
and ``gateway.api.access`` for who may (the owner or an admin; a member never sees
another member's subscription: a 404 page).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from aiohttp import web

from core.clock import SECOND_US
from gateway import state
from gateway.api.access import owner_scope, require_changeable
from gateway.api.inputs import field_problem, invalid
from gateway.api.schemas.stats import SubscriptionStats
from gateway.api.schemas.subscriptions import HealthOut, RotateSecretIn
from gateway.api.subscriptions import send_test_delivery, update_fields
from gateway.api.targets import check_fields
from gateway.console.charts import rate_chart
from gateway.console.pages import render, see_other, text
from gateway.console.session import signed
from gateway.problems import ProblemError
from policy.errors import FilterError
from policy.filters import compile_filter
from policy.redaction import shown_headers
from storage import Storage
from storage.records import Subscription, SubscriptionFields
from storage.stats import Bucket

DAY_US = 86_400 * SECOND_US
_LIST_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Shown:
    """A subscription as its row in a list shows it: its health over 24 h included."""

    subscription: Subscription
    health: HealthOut
    stats: SubscriptionStats
    series: tuple[Bucket, ...]


async def with_health(storage: Storage, subscriptions: Sequence[Subscription]) -> list[Shown]:
    """Each of ``subscriptions`` with its health (as the API shows it) and its last 24 h
    of attempts (``storage.stats``, as ``GET /subscriptions/{id}/stats``)."""
    window = storage.stats.window(DAY_US)
    shown = []
    for subscription in subscriptions:
        stats = await storage.stats.for_subscription(subscription.id, window)
        health = HealthOut.model_validate(HealthOut.row(subscription))
        shown.append(Shown(subscription, health, SubscriptionStats.of(stats), stats.series))
    return shown


async def list_subscriptions(request: web.Request) -> web.Response:
    """Subscriptions newest first (a member's own), each with its health."""
    storage = request.config_dict[state.STORAGE]
    page = await storage.subscriptions.page(
        owner_id=owner_scope(signed(request).user), limit=50, cursor=request.query.get("cursor")
    )
    next_url = None
    if page.next_cursor is not None:
        next_url = request.rel_url.update_query(cursor=page.next_cursor)
    context = {"rows": await with_health(storage, page.items), "next_url": next_url}
    return render(request, "subscriptions.html", context, nav="subscriptions")


async def new_subscription(request: web.Request) -> web.Response:
    """The form to register a subscription."""
    return _form(request, SubscriptionFields(url=""), [], "subscription_new.html")


async def create_subscription(request: web.Request) -> web.Response:
    """Register the subscription for the signed-in user; its signing secret is shown once."""
    app = request.config_dict
    form = await request.post()
    fields = SubscriptionFields(url=text(form, "url"))
    try:
        fields = _fields(form, fields)
        checked = check_fields(fields, app[state.CONFIG])
        subscription, secret = await app[state.STORAGE].subscriptions.create(
            signed(request).user.id, checked
        )
    except ProblemError as e:
        return _form(request, fields, _errors(e), "subscription_new.html", status=e.status)
    return await _page(request, subscription, secret=secret, status=201)


async def show_subscription(request: web.Request) -> web.Response:
    """One subscription: its form, health, recent deliveries and a chart of 24 h."""
    return await _page(request, await _visible(request))


async def edit_subscription(request: web.Request) -> web.Response:
    """Change the URL, description, sources and event types (owner or admin)."""
    current = await _changeable(request)
    form = await request.post()
    fields = current.fields
    app = request.config_dict
    try:
        fields = _fields(form, current.fields)
        await update_fields(app[state.STORAGE], app[state.CONFIG], current, fields)
    except ProblemError as e:
        if e.status != 422:
            raise
        return await _page(request, current, fields=fields, errors=_errors(e), status=422)
    return see_other(f"/console/subscriptions/{current.id}?saved=1")


async def set_enabled(request: web.Request) -> web.Response:
    """``Enable`` or ``Disable`` the subscription (owner or admin)."""
    current = await _changeable(request)
    enabled = text(await request.post(), "enabled") == "true"
    app = request.config_dict
    fields = replace(current.fields, enabled=enabled)
    await update_fields(app[state.STORAGE], app[state.CONFIG], current, fields)
    return see_other(f"/console/subscriptions/{current.id}")


async def rotate_secret(request: web.Request) -> web.Response:
    """A new signing secret, shown on this page once (the old one stays valid a while)."""
    current = await _changeable(request)
    grace_s = RotateSecretIn().grace_s
    secret = await request.config_dict[state.STORAGE].subscriptions.rotate_secret(
        current.id, grace_s
    )
    return await _page(request, current, secret=secret)


async def send_test(request: web.Request) -> web.Response:
    """Send the test event to this subscription; show its delivery."""
    current = await _changeable(request)
    app = request.config_dict
    delivery = await send_test_delivery(app[state.STORAGE], app[state.QUEUE], current)
    return see_other(f"/console/deliveries/{delivery.id}")


async def _visible(request: web.Request) -> Subscription:
    storage = request.config_dict[state.STORAGE]
    return await storage.subscriptions.get(
        request.match_info["id"], owner_scope(signed(request).user)
    )


async def _changeable(request: web.Request) -> Subscription:
    subscription = await _visible(request)
    require_changeable(signed(request).user, subscription.owner_id, "subscription")
    return subscription


async def _page(
    request: web.Request,
    subscription: Subscription,
    *,
    secret: str | None = None,
    fields: SubscriptionFields | None = None,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> web.Response:
    storage = request.config_dict[state.STORAGE]
    [shown] = await with_health(storage, [subscription])
    recent = await storage.deliveries.page(subscription_id=subscription.id, limit=20)
    context: dict[str, Any] = {
        "shown": shown,
        "s": subscription,
        "fields": fields or subscription.fields,
        "filter": filter_text(fields or subscription.fields),
        "headers": shown_headers(subscription.fields.headers),
        "errors": errors or [],
        "secret": secret,
        "recent": recent.items,
        "chart": rate_chart(
            shown.series,
            "Success rate of this subscription's attempts per hour over the last 24 hours",
        ),
        "sources": _source_names(request),
    }
    return render(request, "subscription.html", context, status=status, nav="subscriptions")


def _form(
    request: web.Request,
    fields: SubscriptionFields,
    errors: list[dict[str, str]],
    template: str,
    *,
    status: int = 200,
) -> web.Response:
    context = {
        "fields": fields,
        "filter": filter_text(fields),
        "errors": errors,
        "sources": _source_names(request),
    }
    return render(request, template, context, status=status, nav="subscriptions")


def _source_names(request: web.Request) -> list[str]:
    return sorted(source.name for source in request.config_dict[state.CONFIG].sources)


def _fields(form: Any, current: SubscriptionFields) -> SubscriptionFields:
    """The form's fields in place of ``current``'s (static headers, rate, ordering and
    retry policy kept); a 422 if the filter is not a valid one (``policy.filters``)."""
    sources = tuple(s for s in form.getall("sources", []) if isinstance(s, str) and s)
    event_types = tuple(t for t in _LIST_SEPARATORS.split(text(form, "event_types")) if t)
    return replace(
        current,
        url=text(form, "url"),
        description=text(form, "description"),
        sources=sources,
        event_types=event_types,
        filter=_filter(text(form, "filter")),
    )


def _filter(sent: str) -> dict[str, object] | None:
    if not sent:
        return None
    try:
        spec = orjson.loads(sent)
        compile_filter(spec)
    except orjson.JSONDecodeError as e:
        raise invalid([field_problem("body", "filter", "is not JSON")]) from e
    except FilterError as e:
        raise invalid([field_problem("body", "filter", str(e))]) from e
    if not isinstance(spec, dict):
        raise invalid([field_problem("body", "filter", "must be a JSON object")])
    return spec


def filter_text(fields: SubscriptionFields) -> str:
    """The filter as the form shows it (pretty JSON; empty for none)."""
    if not fields.filter:
        return ""
    return orjson.dumps(dict(fields.filter), option=orjson.OPT_INDENT_2).decode()


def _errors(error: ProblemError) -> list[dict[str, str]]:
    listed = error.members.get("errors")
    if isinstance(listed, list) and listed:
        return [dict(entry) for entry in listed]
    return [{"field": "", "message": error.detail}]
