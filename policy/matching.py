"""Which targets an event goes to: subscriptions and handlers, by source and type.

Event-type patterns are dot-separated segments where ``*`` stands for one segment,
except as the last segment, where it stands for one or more: ``invoice.*`` matches
``invoice.paid`` and ``invoice.payment.failed``, ``*.created`` matches
``customer.created`` but not ``customer.subscription.created``, and ``*`` alone
matches every type. An empty pattern list, like an empty source list, means all.

Operational events (source ``hookgate``) go only to handlers that list ``hookgate``
in their ``sources``, never to subscriptions: they name other teams' endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.config import OPERATIONAL_SOURCE, HandlerConfig
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


def targets_for(
    event: Event, subscriptions: Iterable[Subscription], handlers: Iterable[HandlerConfig]
) -> list[Target]:
    """Every target of ``event``: matching enabled subscriptions, then handlers."""
    targets = [
        Target(sub.id, sub.fields.url)
        for sub in subscriptions
        if event.source != OPERATIONAL_SOURCE
        and wants(sub.fields.sources, sub.fields.event_types, event)
    ]
    targets += [
        Target(None, handler_target(handler.name))
        for handler in handlers
        if wants(handler.sources, handler.event_types, event)
    ]
    return targets


def handler_target(name: str) -> str:
    """The delivery target naming handler ``name``."""
    return f"{HANDLER_PREFIX}{name}"


def handler_name(target: str) -> str | None:
    """The handler a delivery target names, or None for a URL."""
    return target.removeprefix(HANDLER_PREFIX) if target.startswith(HANDLER_PREFIX) else None
