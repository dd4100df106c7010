"""Protecting endpoints: the circuit breaker and its half-open probe, auto-disable after
failing too long, per-subscription concurrency and rate limits — on both backends."""

from __future__ import annotations

from storage import Storage
from tests.relay.conftest import Receiver, Reply, open_harness, relay_config

SECOND = 1_000_000


async def test_breaker_holds_deliveries_then_a_probe_closes_it(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """After 2 failures the breaker opens: new deliveries wait without a request; after
    the cooldown one probe goes out and, answered, releases the rest."""
    config = relay_config(
        storage_url,
        delivery={
            "max_attempts": 20,
            "backoff": {"initial_s": 0.05, "multiplier": 1, "max_s": 0.05, "jitter": 0},
            "breaker": {"failures": 2, "cooldown_s": 0.5},
        },
    )
    async with open_harness(storage, config) as harness:
        sub, _ = await harness.subscribe(receiver.script("down", Reply(500)))
        await harness.enqueue([await harness.event()])

        async def opened() -> bool:
            """Whether the breaker is open."""
            health = await harness.storage.subscriptions.health([sub.id])
            return health[sub.id].breaker_open_until is not None

        await harness.drive(opened)
        hits_when_opened = len(receiver.of("down"))
        await harness.enqueue([await harness.event() for _ in range(3)])
        await harness.run_jobs()
        held = [d for d in await harness.deliveries() if d.attempt_count == 0]
        hits_while_open = len(receiver.of("down")) - hits_when_opened
        receiver.script("down", Reply(200))
        await harness.drive(harness.finished)
        health = await harness.storage.subscriptions.health([sub.id])

    assert 2 == hits_when_opened
    assert (3, 0) == (len(held), hits_while_open)
    assert all(d.status == "succeeded" for d in await harness.deliveries())
    assert 0 == health[sub.id].consecutive_failures
    assert health[sub.id].breaker_open_until is None


async def test_failing_for_disable_after_disables_the_subscription(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """An endpoint failing without a success for delivery.disable_after is disabled and
    its pending deliveries cancelled."""
    config = relay_config(storage_url, delivery={"disable_after": "0.3", "max_attempts": 50})
    async with open_harness(storage, config) as harness:
        sub, _ = await harness.subscribe(receiver.script("dead", Reply(500)))
        await harness.enqueue([await harness.event()])

        async def disabled() -> bool:
            """Whether the relay disabled the subscription."""
            return not (await harness.storage.subscriptions.get(sub.id)).fields.enabled

        await harness.drive(disabled)
        after = await harness.storage.subscriptions.get(sub.id)
        [delivery] = [d for d in await harness.deliveries() if d.subscription_id == sub.id]

    assert "failed without a success" in (after.disabled_reason or "")
    assert "cancelled" == delivery.status
    assert delivery.attempt_count >= 2


async def test_concurrency_per_subscription_is_bounded(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """40 deliveries to one slow endpoint never run more than 16 at a time."""
    async with open_harness(storage, relay_config(storage_url)) as harness:
        await harness.subscribe(receiver.script("slow", Reply(delay_s=0.2)))
        await harness.enqueue([await harness.event() for _ in range(40)])
        await harness.drive(harness.finished)

    assert 16 == receiver.most_in_flight
    assert 40 == len(receiver.of("slow"))


async def test_rate_limit_spreads_requests(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """rate_limit_per_s=5: ten deliveries take a second's worth of tokens beyond the first
    five (a burst of one second)."""
    async with open_harness(storage, relay_config(storage_url)) as harness:
        await harness.subscribe(receiver.url("limited"), rate_limit_per_s=5.0)
        await harness.enqueue([await harness.event() for _ in range(10)])
        await harness.drive(harness.finished)

    times = sorted(hit.at for hit in receiver.of("limited"))
    assert 10 == len(times)
    assert times[-1] - times[0] >= 0.9
