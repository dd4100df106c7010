"""Fan-out: every matching subscription and handler gets each event, signed so that the
stock ``standardwebhooks`` library verifies it — on both storage backends."""

from __future__ import annotations

import orjson
from standardwebhooks.webhooks import Webhook

from tests.relay import handlers
from tests.relay.conftest import Harness, Receiver


async def test_fanout_reaches_every_matching_target_verifiably(
    harness: Harness, receiver: Receiver
) -> None:
    """Three subscriptions (all, invoice.*, charge.*) and a handler: each gets what matches."""
    handlers.RECEIVED.clear()
    _, all_secret = await harness.subscribe(receiver.script("all"))
    _, invoice_secret = await harness.subscribe(
        receiver.url("invoices"), event_types=("invoice.*",)
    )
    await harness.subscribe(receiver.url("charges"), event_types=("charge.*",))
    paid = await harness.event("invoice.paid")
    failed = await harness.event("invoice.payment.failed")

    await harness.enqueue([paid, failed])
    await harness.drive(harness.finished)

    assert {paid, failed} == {hit.headers["webhook-id"] for hit in receiver.of("all")}
    assert {paid, failed} == {hit.headers["webhook-id"] for hit in receiver.of("invoices")}
    assert [] == receiver.of("charges")
    assert {paid, failed} == {event.id for event in handlers.RECEIVED}
    for hit in receiver.of("all"):
        assert orjson.loads(hit.body) == Webhook(all_secret).verify(hit.body, dict(hit.headers))
    for hit in receiver.of("invoices"):
        Webhook(invoice_secret).verify(hit.body, dict(hit.headers))
    assert {"succeeded"} == {d.status for d in await harness.deliveries()}
    metrics = harness.relay.metrics.render().decode()
    assert 'hookgate_deliveries_total{outcome="succeeded"} 6.0' in metrics
    assert 'hookgate_delivery_attempt_seconds_count{target="http"} 4.0' in metrics


async def test_request_carries_spec_headers_and_raw_body(
    harness: Harness, receiver: Receiver
) -> None:
    """Body verbatim, original content-type, hookgate metadata, static headers (not ours)."""
    sub, _ = await harness.subscribe(
        receiver.url("meta"), headers={"x-team": "billing", "webhook-id": "forged"}
    )
    event_id = await harness.event("invoice.paid")
    stored = await harness.storage.events.get(event_id)

    await harness.enqueue([event_id])
    await harness.drive(harness.finished)

    [hit] = receiver.of("meta")
    [delivery] = [d for d in await harness.deliveries() if d.subscription_id == sub.id]
    assert stored.body == hit.body
    assert {
        "content-type": "application/json",
        "webhook-id": event_id,
        "hookgate-source": "stripe",
        "hookgate-event-type": "invoice.paid",
        "hookgate-delivery-id": delivery.id,
        "hookgate-attempt": "1",
        "x-team": "billing",
    } == {
        key: hit.headers[key]
        for key in (
            "content-type",
            "webhook-id",
            "hookgate-source",
            "hookgate-event-type",
            "hookgate-delivery-id",
            "hookgate-attempt",
            "x-team",
        )
    }
    assert hit.headers["user-agent"].startswith("hookgate/")
    [attempt] = await harness.storage.attempts.for_delivery(delivery.id)
    assert "v1,<redacted>" == attempt.request_headers["webhook-signature"]
    assert (200, None) == (attempt.response_status, attempt.error)


async def test_rotation_sends_both_signatures_and_each_verifies(
    harness: Harness, receiver: Receiver
) -> None:
    """During a rotation's grace period the receiver may hold the old or the new secret."""
    sub, old = await harness.subscribe(receiver.url("rotating"))
    new = await harness.storage.subscriptions.rotate_secret(sub.id, grace_s=3600)
    event_id = await harness.event()

    await harness.enqueue([event_id])
    await harness.drive(harness.finished)

    [hit] = receiver.of("rotating")
    assert ["v1", "v1"] == [
        entry.split(",")[0] for entry in hit.headers["webhook-signature"].split()
    ]
    for secret in (old, new):
        Webhook(secret).verify(hit.body, dict(hit.headers))


async def test_a_redispatched_event_is_not_delivered_twice(
    harness: Harness, receiver: Receiver
) -> None:
    """The same event in two jobs (a gateway retry, a sweeper re-drive) is delivered once."""
    await harness.subscribe(receiver.url("once"))
    event_id = await harness.event()

    await harness.enqueue([event_id])
    await harness.enqueue([event_id])
    await harness.drive(harness.finished)

    assert 1 == len(receiver.of("once"))
    assert 2 == len(await harness.deliveries())  # the subscription and the audit handler


async def test_sweeper_dispatches_events_whose_job_was_lost(
    harness: Harness, receiver: Receiver
) -> None:
    """An event stored but never enqueued (lost job) is found and delivered by the sweeper."""
    await harness.subscribe(receiver.url("lost"))
    event_id = await harness.event()

    async def delivered() -> bool:
        """Whether the lost event arrived and nothing is pending."""
        return bool(receiver.of("lost")) and await harness.finished()

    await harness.drive(delivered)

    assert [event_id] == [hit.headers["webhook-id"] for hit in receiver.of("lost")]
