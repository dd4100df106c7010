"""The arq jobs. They take ids only and never raise: an attempt's failure is an
outcome in storage, and a storage failure leaves the leases to run out so the sweeper
re-drives the work (arq's own retries are off, see ``relay.worker``)."""

from __future__ import annotations

from typing import Any

import structlog

from relay.runtime import Relay

log = structlog.get_logger()
RELAY = "relay"


async def dispatch_events(ctx: dict[str, Any], event_ids: list[str]) -> None:
    """Create the events' deliveries (once) and attempt them now, concurrently."""
    relay: Relay = ctx[RELAY]
    try:
        await relay.dispatcher.dispatch(event_ids)
    except Exception:  # storage down: the sweeper re-drives the events later
        log.exception("dispatch_failed", events=len(event_ids))


async def deliver(ctx: dict[str, Any], delivery_ids: list[str]) -> None:
    """Attempt these deliveries now if they are due and nobody holds them."""
    relay: Relay = ctx[RELAY]
    try:
        await relay.dispatcher.deliver(delivery_ids)
    except Exception:  # storage down: the sweeper claims them later
        log.exception("deliver_failed", deliveries=len(delivery_ids))


async def run_jobs(ctx: dict[str, Any]) -> None:
    """Wake this worker's bulk runner (``relay.bulk``): the API stored a bulk job."""
    relay: Relay = ctx[RELAY]
    relay.bulk.wake()
