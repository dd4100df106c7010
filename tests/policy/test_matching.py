"""Which targets an event reaches: wildcard patterns, sources, operational events."""

from __future__ import annotations

import pytest

from core.config import HandlerConfig
from policy.matching import handler_name, targets_for, type_matches
from storage.records import Event, Subscription, SubscriptionFields, Target


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("invoice.paid", "invoice.paid", True),
        ("invoice.paid", "invoice.created", False),
        ("invoice.*", "invoice.paid", True),
        ("invoice.*", "invoice.payment.failed", True),
        ("invoice.*", "invoice", False),
        ("invoice.*", "invoicex.paid", False),
        ("*.created", "customer.created", True),
        ("*.created", "customer.subscription.created", False),
        ("customer.*.created", "customer.subscription.created", True),
        ("customer.*.created", "customer.subscription.deleted", False),
        ("*", "anything.at.all", True),
        ("*", "push", True),
    ],
)
def test_type_patterns(pattern: str, event_type: str, expected: bool) -> None:
    """`*` is one segment, or one-or-more as the last segment."""
    assert expected == type_matches(pattern, event_type)


def event(source: str, event_type: str) -> Event:
    """An event of ``source`` and ``event_type``."""
    return Event("evt_1", source, event_type, "p1", 0, {}, b"{}", None)


def subscription(sub_id: str, sources: tuple[str, ...], types: tuple[str, ...]) -> Subscription:
    """An enabled subscription."""
    fields = SubscriptionFields(
        url=f"https://{sub_id}.example/", sources=sources, event_types=types
    )
    return Subscription(sub_id, "usr_1", fields, None, 0, 0)


SUBSCRIPTIONS = [
    subscription("all", (), ()),
    subscription("stripe", ("stripe",), ()),
    subscription("invoices", (), ("invoice.*",)),
    subscription("github", ("github",), ("push",)),
]
HANDLERS = [
    HandlerConfig("billing", "m:f", ("stripe",), ("invoice.*",)),
    HandlerConfig("everything", "m:f"),
    HandlerConfig("ops", "m:f", ("hookgate",), ("delivery.failed",)),
]


@pytest.mark.parametrize(
    ("source", "event_type", "expected"),
    [
        (
            "stripe",
            "invoice.paid",
            ["all", "stripe", "invoices", "handler:billing", "handler:everything"],
        ),
        ("stripe", "charge.failed", ["all", "stripe", "handler:everything"]),
        ("github", "push", ["all", "github", "handler:everything"]),
        ("github", "invoice.paid", ["all", "invoices", "handler:everything"]),
        ("hookgate", "delivery.failed", ["handler:ops"]),
        ("hookgate", "subscription.disabled", []),
    ],
)
def test_targets(source: str, event_type: str, expected: list[str]) -> None:
    """Subscriptions by sources and types; operational events to opted-in handlers only."""
    targets = targets_for(event(source, event_type), SUBSCRIPTIONS, HANDLERS)
    assert expected == [t.subscription_id or t.target for t in targets]
    assert all(isinstance(t, Target) for t in targets)


def test_handler_target_names() -> None:
    """handler:<name> targets name a handler; URLs do not."""
    assert ("billing", None) == (handler_name("handler:billing"), handler_name("https://x.io/"))
