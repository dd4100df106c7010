"""Which targets an event goes to: subscriptions and handlers, by source and type.

Event-type patterns are dot-separated segments where ``*`` stands for one segment,
except as the last segment, where it stands for one or more: ``invoice.*`` matches
``invoice.paid`` and ``invoice.payment.failed``, ``*.created`` matches
``customer.created`` but not ``customer.subscription.created``, and ``*`` alone
matches every type. An empty pattern list, like an empty source list, means all.

A subscription with a payload filter (``policy.filters``) also needs the event's body
and headers to pass it. ``targets_for`` parses an event's body at most once, however
many subscriptions filter on it; the relay hands it filters compiled once per read of
the subscriptions (``compile_filters``), so matching does not parse them again. A
stored filter that no longer compiles (it was validated when written) matches nothing:
an endpoint should not receive what it filtered out.

Operational events (source ``hookgate``) go only to handlers that list ``hookgate``
in their ``sources``, never to subscriptions: they name other teams' endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from core.config import OPERATIONAL_SOURCE, HandlerConfig
from policy.errors import FilterError
from policy.filters import NOTHING, Filter, compile_filter, parse_body
from storage.records import Event, Subscription, Target

HANDLER_PREFIX = "handler:"


def type_matches(pattern: str, event_type: str) -> bool:
    """Whether ``event_type`` matches ``pattern`` (see the module docstring)."""
    wanted, actual = pattern.split("."), event_type.split(".")
    if wanted[-1] == "*" and len(actual) >= len(wanted):
        actual = [*actual[: len(wanted) - 1], "*"]
    return len(wanted) == len(actual) and all(
        want in ("*", part) for want, part in zip(wanted, actual, strict=True)
    )


def wants(sources: Sequence[str], patterns: Sequence[str], event: Event) -> bool:
    """Whether a target with these ``sources`` and type ``patterns`` wants ``event``."""
    if event.source == OPERATIONAL_SOURCE:
        if OPERATIONAL_SOURCE not in sources:
            return False
    elif sources and event.source not in sources:
        return False
    return not patterns or any(type_matches(pattern, event.type) for pattern in patterns)


def compiled_filter(subscription: Subscription) -> Filter:
    """``subscription``'s filter, compiled; one that does not compile matches nothing."""
    try:
        return compile_filter(subscription.fields.filter)
    except FilterError:
        return NOTHING


def compile_filters(subscriptions: Iterable[Subscription]) -> dict[str, Filter]:
    """The compiled filter of each subscription, by id (for ``targets_for``)."""
    return {sub.id: compiled_filter(sub) for sub in subscriptions}


class _Payload:
    """An event's body, parsed on first use only."""

    def __init__(self, event: Event) -> None:
        self._event = event
        self._body: object = None
        self._parsed = False

    def passes(self, check: Filter) -> bool:
        """Whether the event passes ``check``."""
        if check.reads_body and not self._parsed:
            self._body, self._parsed = parse_body(self._event.body), True
        return check.matches(self._body, self._event.headers)


def targets_for(
    event: Event,
    subscriptions: Iterable[Subscription],
    handlers: Iterable[HandlerConfig],
    filters: Mapping[str, Filter] | None = None,
) -> list[Target]:
    """Every target of ``event``: matching enabled subscriptions, then handlers.

    ``filters`` are the subscriptions' compiled filters by id (``compile_filters``);
    without them, or for a subscription missing there, its filter is compiled here.
    """
    payload = _Payload(event)
    targets = [
        Target(sub.id, sub.fields.url, ordered=sub.fields.ordering == "fifo")
        for sub in subscriptions
        if event.source != OPERATIONAL_SOURCE
        and wants(sub.fields.sources, sub.fields.event_types, event)
        and payload.passes(_filter_of(sub, filters))
    ]
    targets += [
        Target(None, handler_target(handler.name))
        for handler in handlers
        if wants(handler.sources, handler.event_types, event)
    ]
    return targets


def _filter_of(subscription: Subscription, filters: Mapping[str, Filter] | None) -> Filter:
    known = None if filters is None else filters.get(subscription.id)
    return compiled_filter(subscription) if known is None else known


def handler_target(name: str) -> str:
    """The delivery target naming handler ``name``."""
    return f"{HANDLER_PREFIX}{name}"


def handler_name(target: str) -> str | None:
    """The handler a delivery target names, or None for a URL."""
    return target.removeprefix(HANDLER_PREFIX) if target.startswith(HANDLER_PREFIX) else None
