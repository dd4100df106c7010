"""A scripted receiver (500, 429 + Retry-After, 410, slow, refused, 3xx) produces the right
attempts, errors and schedule; handlers fail and retry too — on both storage backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from core.queue import DELIVER
from storage import Storage
from storage.records import Attempt
from tests.relay import handlers
from tests.relay.conftest import (
    Harness,
    Receiver,
    Reply,
    free_port,
    open_harness,
    relay_config,
)

SECOND = 1_000_000
OPERATIONAL_HANDLER = {
    "name": "ops",
    "call": "tests.relay.handlers:record_operational",
    "sources": ["hookgate"],
    "event_types": ["subscription.*", "delivery.failed"],
}


@pytest.fixture
async def ops_harness(storage: Storage, storage_url: str) -> AsyncIterator[Harness]:
    """The relay with a handler for operational events."""
    handlers.OPERATIONAL.clear()
    config = relay_config(storage_url, handlers=[OPERATIONAL_HANDLER])
    async with open_harness(storage, config) as harness:
        yield harness


async def attempts_of(harness: Harness, subscription_id: str) -> list[Attempt]:
    """The attempts of the subscription's only delivery."""
    [delivery] = [d for d in await harness.deliveries() if d.subscription_id == subscription_id]
    return await harness.storage.attempts.for_delivery(delivery.id)


async def test_500_is_retried_on_schedule_until_success(
    harness: Harness, receiver: Receiver
) -> None:
    """Two 500s then a 200: three attempts, each after the backoff (0.05 s, then 0.1 s)."""
    url = receiver.script("flaky", Reply(500), Reply(500), Reply(200))
    sub, _ = await harness.subscribe(url)

    await harness.enqueue([await harness.event()])
    await harness.drive(harness.finished)

    attempts = await attempts_of(harness, sub.id)
    assert [(500, "http_status"), (500, "http_status"), (200, None)] == [
        (a.response_status, a.error) for a in attempts
    ]
    assert attempts[1].started_at - attempts[0].started_at >= 0.05 * SECOND
    assert attempts[2].started_at - attempts[1].started_at >= 0.1 * SECOND
    assert ["1", "2", "3"] == [hit.headers["hookgate-attempt"] for hit in receiver.of("flaky")]
    assert 1 == len({hit.headers["webhook-id"] for hit in receiver.of("flaky")})


async def test_retry_after_on_429_is_honoured_and_capped(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """429 Retry-After: 1 waits 1 s (later than the 0.05 s schedule); 503 Retry-After:
    3600 is capped at backoff.max_s (2 s)."""
    config = relay_config(
        storage_url,
        delivery={"backoff": {"initial_s": 0.05, "multiplier": 2, "max_s": 2, "jitter": 0}},
    )
    async with open_harness(storage, config) as harness:
        polite = await harness.subscribe(
            receiver.script("busy", Reply(429, {"Retry-After": "1"}), Reply(200))
        )
        capped = await harness.subscribe(
            receiver.script("down", Reply(503, {"Retry-After": "3600"}), Reply(200))
        )
        await harness.enqueue([await harness.event()])
        await harness.run_jobs()
        waiting = {d.subscription_id: d for d in await harness.deliveries()}
        await harness.drive(harness.finished)

        busy = await attempts_of(harness, polite[0].id)
        down = await attempts_of(harness, capped[0].id)

    assert [429, 200] == [a.response_status for a in busy]
    assert busy[1].started_at - busy[0].started_at >= 1 * SECOND
    next_down = waiting[capped[0].id].next_attempt_at or 0
    assert 1.9 * SECOND <= next_down - down[0].started_at <= 2.5 * SECOND
    assert [503, 200] == [a.response_status for a in down]


async def test_410_fails_disables_and_cancels_pending_deliveries(
    ops_harness: Harness, receiver: Receiver
) -> None:
    """A 410 fails that delivery, disables the subscription, cancels its other pending
    deliveries, and announces subscription.disabled to the operational handler."""
    harness = ops_harness
    sub, _ = await harness.subscribe(
        receiver.script("gone", Reply(500), Reply(410)), description="old"
    )
    first, second = await harness.event(), await harness.event()

    await harness.enqueue([first])
    await harness.run_jobs()
    await harness.enqueue([second])
    await harness.drive(harness.finished)

    statuses = {d.event_id: d.status for d in await harness.deliveries() if d.subscription_id}
    disabled = await harness.storage.subscriptions.get(sub.id)
    assert ["cancelled", "failed"] == sorted(statuses.values())
    assert (False, "the endpoint answered 410 Gone") == (
        disabled.fields.enabled,
        disabled.disabled_reason,
    )

    async def announced() -> bool:
        """Whether the operational event reached the handler."""
        return any(e.type == "subscription.disabled" for e in handlers.OPERATIONAL)

    await harness.drive(announced)
    [notice] = [e for e in handlers.OPERATIONAL if e.type == "subscription.disabled"]
    assert ("hookgate", sub.id) == (
        notice.source,
        orjson.loads(notice.body or b"{}")["data"]["subscription_id"],
    )


async def test_timeout_and_refused_connection_are_classified(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """A slow receiver times out, a closed port is a connect error; both are retried."""
    config = relay_config(storage_url, delivery={"timeout_s": 0.3})
    async with open_harness(storage, config) as harness:
        slow = await harness.subscribe(receiver.script("slow", Reply(delay_s=1.0), Reply(200)))
        refused = await harness.subscribe(f"http://127.0.0.1:{free_port()}/hook")
        await harness.enqueue([await harness.event()])
        await harness.drive(harness.finished)

        slow_attempts = await attempts_of(harness, slow[0].id)
        refused_attempts = await attempts_of(harness, refused[0].id)

    assert [("timeout", None), (None, 200)] == [(a.error, a.response_status) for a in slow_attempts]
    assert ["connect"] * 4 == [a.error for a in refused_attempts]
    assert all(a.error_detail for a in refused_attempts)


async def test_exhausted_delivery_fails_and_is_announced(
    ops_harness: Harness, receiver: Receiver
) -> None:
    """After the first try and max_attempts (3) retries the delivery is failed, and
    delivery.failed reaches the operational handler."""
    harness = ops_harness
    sub, _ = await harness.subscribe(receiver.script("broken", Reply(500)))
    event_id = await harness.event()

    await harness.enqueue([event_id])

    async def announced() -> bool:
        """Whether the operational event reached the handler."""
        return any(e.type == "delivery.failed" for e in handlers.OPERATIONAL)

    await harness.drive(announced)
    [delivery] = [d for d in await harness.deliveries() if d.subscription_id == sub.id]
    [notice] = [e for e in handlers.OPERATIONAL if e.type == "delivery.failed"]
    data: dict[str, Any] = orjson.loads(notice.body or b"{}")["data"]
    assert ("failed", 4, 500) == (
        delivery.status,
        delivery.attempt_count,
        delivery.last_status_code,
    )
    assert (delivery.id, event_id, 4, "http_status") == (
        data["delivery_id"],
        data["event_id"],
        data["attempt_count"],
        data["error"],
    )


async def test_redirect_is_a_failure_and_not_followed(harness: Harness, receiver: Receiver) -> None:
    """A 302 is recorded as a failed attempt; the Location is never requested."""
    target = receiver.url("elsewhere")
    sub, _ = await harness.subscribe(
        receiver.script("moved", Reply(302, {"Location": target}), Reply(200))
    )

    await harness.enqueue([await harness.event()])
    await harness.drive(harness.finished)

    attempts = await attempts_of(harness, sub.id)
    assert [(302, "http_status"), (200, None)] == [(a.response_status, a.error) for a in attempts]
    assert "not followed" in (attempts[0].error_detail or "")
    assert [] == receiver.of("elsewhere")


async def test_handler_exception_is_a_failed_attempt(storage: Storage, storage_url: str) -> None:
    """A handler raising is recorded as handler_exception and retried until it returns."""
    handlers.FLAKY_FAILURES.clear()
    config = relay_config(
        storage_url, handlers=[{"name": "flaky", "call": "tests.relay.handlers:flaky"}]
    )
    async with open_harness(storage, config) as harness:
        await harness.enqueue([await harness.event()])
        await harness.drive(harness.finished)
        [delivery] = await harness.deliveries()
        attempts = await harness.storage.attempts.for_delivery(delivery.id)

    assert ("handler:flaky", "succeeded") == (delivery.target, delivery.status)
    assert ["handler_exception", None] == [a.error for a in attempts]
    assert "RuntimeError" in (attempts[0].error_detail or "")


async def test_deliver_job_attempts_a_retried_delivery_once(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """An operator's retry plus a ``deliver`` job (twice, as a client might) attempts the
    delivery right away, once, without waiting for the sweeper."""
    slow_backoff = {"backoff": {"initial_s": 3600, "multiplier": 1, "max_s": 3600, "jitter": 0}}
    config = relay_config(storage_url, delivery=slow_backoff)
    async with open_harness(storage, config) as harness:
        sub, _ = await harness.subscribe(receiver.script("later", Reply(500), Reply(200)))
        await harness.enqueue([await harness.event()])
        await harness.run_jobs()
        [delivery] = [d for d in await harness.deliveries() if d.subscription_id == sub.id]
        await harness.storage.deliveries.retry(delivery.id)
        for _ in range(2):
            await harness.queue.enqueue_job(
                DELIVER, [delivery.id], _queue_name=harness.relay.queue_name
            )
        await harness.run_jobs()
        after = await harness.storage.deliveries.get(delivery.id)

    assert ("succeeded", 2) == (after.status, after.attempt_count)
    assert [500, 200] == [
        a.response_status for a in await storage.attempts.for_delivery(delivery.id)
    ]
