"""From ids to attempts: what the two jobs and the sweeper hand to ``Attempts``.

``dispatch(event_ids)`` creates each event's deliveries once (``dispatch_many``: the
``dispatched_at`` claim makes a re-run, a duplicate job or a sweeper re-drive a no-op)
leased to this worker, and attempts them at once, concurrently — one job carries a
whole batch of events, which is how deliveries outrun arq's per-job ceiling. The jobs
running at the same time share one transaction (group commit, as the gateway's
inserts and the attempts' records do): on SQLite the single writer, not the network,
is what an event costs most.

``attempt(deliveries)`` attempts deliveries this worker has leased (the sweeper's
claims, or ``deliver`` job ids it claimed): it loads their events, and the enabled
subscriptions with their breaker state, once per batch (signers are cached briefly,
see ``relay.signing``), cancels those whose target is gone, and runs the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence

import structlog

from core.clock import now_us
from core.config import HandlerConfig
from policy.matching import handler_name, targets_for
from relay.attempts import Attempts, Work
from relay.breaker import Breakers
from relay.metrics import RelayMetrics
from relay.signing import Signers
from storage import NotFoundError, Storage
from storage.group_commit import GroupCommitter
from storage.records import Delivery, Event, Subscription, Target

log = structlog.get_logger()
SIGNER_RETRY_S = 60
DISPATCH_BATCH = 500
Plan = tuple[str, Sequence[Target]]


class Dispatcher:
    """Plans deliveries and hands them to ``Attempts``."""

    def __init__(
        self,
        *,
        storage: Storage,
        handlers: Sequence[HandlerConfig],
        attempts: Attempts,
        breakers: Breakers,
        metrics: RelayMetrics,
        lease_s: float,
    ) -> None:
        self._storage = storage
        self._handlers = tuple(handlers)
        self._handler_names = frozenset(handler.name for handler in handlers)
        self._attempts = attempts
        self._breakers = breakers
        self._signers = Signers(storage.subscriptions)
        self._committer: GroupCommitter[Plan, list[Delivery] | None] = GroupCommitter(
            self._dispatch_batch, DISPATCH_BATCH
        )
        self._metrics = metrics
        self._lease_s = lease_s

    async def dispatch(self, event_ids: Collection[str]) -> int:
        """Create and attempt the deliveries of events not yet dispatched; how many."""
        # Both reads at once: on SQLite they queue on the reader thread back to back
        # instead of waiting for the event loop in between.
        events, subscriptions = await asyncio.gather(
            self._events(set(event_ids)), self._subscriptions()
        )
        if not events:
            return 0
        created = await asyncio.gather(
            *(
                self._committer.submit(
                    (event.id, targets_for(event, subscriptions.values(), self._handlers))
                )
                for event in events.values()
            )
        )
        deliveries = [delivery for batch in created if batch is not None for delivery in batch]
        await self._run(deliveries, events, subscriptions)
        return len(deliveries)

    async def _dispatch_batch(self, plans: Sequence[Plan]) -> list[list[Delivery] | None]:
        """One transaction for the plans of every job dispatching meanwhile; an event
        planned twice (two jobs carrying it) gets its deliveries only the first time."""
        created = await self._storage.deliveries.dispatch_many(plans, lease_s=self._lease_s)
        return [created.pop(event_id, None) for event_id, _ in plans]

    async def close(self) -> None:
        """Let the dispatch batch in flight finish."""
        await self._committer.close()

    async def deliver(self, delivery_ids: Collection[str]) -> int:
        """Claim those of ``delivery_ids`` that are due and free, and attempt them; how many."""
        claimed = await self._storage.deliveries.claim(set(delivery_ids), self._lease_s)
        await self.attempt(claimed)
        return len(claimed)

    async def attempt(self, deliveries: Sequence[Delivery]) -> None:
        """Attempt deliveries this worker holds the lease of."""
        if not deliveries:
            return
        events, subscriptions = await asyncio.gather(
            self._events({delivery.event_id for delivery in deliveries}), self._subscriptions()
        )
        await self._run(deliveries, events, subscriptions)

    async def _run(
        self,
        deliveries: Sequence[Delivery],
        events: Mapping[str, Event],
        subscriptions: Mapping[str, Subscription],
    ) -> None:
        wanted = sorted(
            {d.subscription_id for d in deliveries if d.subscription_id is not None}
            & subscriptions.keys()
        )
        signers = await self._signers.of(wanted)
        work: list[Work] = []
        gone: list[str] = []
        unsigned: list[str] = []
        for delivery in deliveries:
            event = events.get(delivery.event_id)
            subscription = subscriptions.get(delivery.subscription_id or "")
            if event is None or not self._target_exists(delivery, subscription):
                gone.append(delivery.id)
            elif subscription is not None and subscription.id not in signers:
                unsigned.append(delivery.id)
            else:
                signer = None if subscription is None else signers[subscription.id]
                work.append(Work(delivery, event, subscription, signer))
        await self._set_aside(gone, unsigned)
        await self._attempts.run(work)

    def _target_exists(self, delivery: Delivery, subscription: Subscription | None) -> bool:
        if delivery.subscription_id is not None:
            return subscription is not None
        return handler_name(delivery.target) in self._handler_names

    async def _set_aside(self, gone: list[str], unsigned: list[str]) -> None:
        if gone:
            cancelled = await self._storage.deliveries.cancel(gone)
            self._metrics.deliveries.labels("cancelled").inc(cancelled)
        if unsigned:
            log.error("no_signing_secret", deliveries=len(unsigned))
            await self._storage.deliveries.postpone(unsigned, now_us() + SIGNER_RETRY_S * 1_000_000)

    async def _subscriptions(self) -> dict[str, Subscription]:
        """Enabled subscriptions by id; their health goes to the breakers."""
        found = await self._storage.subscriptions.enabled_with_health()
        self._breakers.refresh({sub.id: health for sub, health in found})
        return {sub.id: sub for sub, _ in found}

    async def _events(self, event_ids: Collection[str]) -> dict[str, Event]:
        found = await asyncio.gather(*(self._event(event_id) for event_id in event_ids))
        return {event.id: event for event in found if event is not None}

    async def _event(self, event_id: str) -> Event | None:
        try:
            return await self._storage.events.get(event_id)
        except NotFoundError:
            return None
