"""From ids to attempts: what the two jobs and the sweeper hand to ``Attempts``.

``dispatch(event_ids)`` creates each event's deliveries once (``Deliveries.create``
with ``first_dispatch``: the ``dispatched_at`` claim makes a re-run, a duplicate job
or a sweeper re-drive a no-op) leased to this worker, and attempts them at once,
concurrently — one job carries a whole batch of events, which is how deliveries
outrun arq's per-job ceiling. The jobs running at the same time share one
transaction (group commit, as the gateway's inserts and the attempts' records do):
on SQLite the single writer, not the network, is what an event costs most.

``attempt(deliveries)`` attempts deliveries this worker has leased (the sweeper's
claims, or ``deliver`` job ids it claimed): it loads their events in one query,
cancels those whose target is gone, and runs the rest (signers are cached briefly,
see ``relay.signing``).

Both match against the enabled subscriptions as this worker last read them: the list
is re-read only when ``subscriptions.revision()`` moved (``SubscriptionCache``, which
compiles their payload filters once per read), while the breaker state of the
subscriptions in a batch is read fresh for every batch.

A fifo subscription's deliveries are leased only at the head of its line (see
``storage.deliveries``): ``dispatch`` attempts those ``create`` leased, and when an
attempt finishes a head, ``_next_in_line`` claims the next one and attempts it at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from core.clock import now_us
from core.config import HandlerConfig
from policy.filters import Filter
from policy.matching import compile_filters, handler_name, targets_for
from relay.attempts import Attempts, Work
from relay.breaker import Breakers
from relay.metrics import RelayMetrics
from relay.signing import Signers
from storage import Storage
from storage.deliveries import Plan
from storage.group_commit import GroupCommitter
from storage.records import Delivery, Event, Subscription
from storage.subscriptions import Subscriptions

log = structlog.get_logger()
SIGNER_RETRY_S = 60
DISPATCH_BATCH = 500


@dataclass(frozen=True, slots=True)
class Routing:
    """The enabled subscriptions by id, and their payload filters compiled, as read once."""

    subscriptions: Mapping[str, Subscription]
    filters: Mapping[str, Filter]


class SubscriptionCache:
    """The enabled subscriptions, re-read only when their revision moved."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions
        self._revision: int | None = None
        self._enabled = Routing({}, {})
        self._lock = asyncio.Lock()

    async def enabled(self) -> Routing:
        """Enabled subscriptions by id, at least as new as every change committed
        before this call."""
        # The revision is read *before* the list. A change committed before this call
        # has bumped the revision already (same transaction), so it is either in the
        # cached list (read after that bump) or makes the revision differ and the list
        # be read again, after the bump. Reading the list first instead could pair a
        # list older than a change with the revision that names it, and the change
        # would stay unseen until the next one. Hence an event received after a
        # subscription was created always reaches it: its dispatch job runs after both.
        revision = await self._subscriptions.revision()
        if revision == self._revision:
            return self._enabled
        async with self._lock:
            if revision != self._revision:  # another job may have just read it
                found = await self._subscriptions.enabled()
                self._enabled = Routing({sub.id: sub for sub in found}, compile_filters(found))
                self._revision = revision
            return self._enabled


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
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._storage = storage
        # Told after each dispatch commits (``core.wakeups``: members' streams hear it).
        self._on_commit = on_commit
        self._handlers = tuple(handlers)
        self._handler_names = frozenset(handler.name for handler in handlers)
        self._attempts = attempts
        self._breakers = breakers
        self._signers = Signers(storage.subscriptions)
        self._cache = SubscriptionCache(storage.subscriptions)
        self._committer: GroupCommitter[Plan, list[Delivery] | None] = GroupCommitter(
            self._dispatch_batch, DISPATCH_BATCH
        )
        self._metrics = metrics
        self._lease_s = lease_s

    async def dispatch(self, event_ids: Collection[str]) -> int:
        """Create and attempt the deliveries of events not yet dispatched; how many."""
        # Both reads at once: on SQLite they queue on the reader thread back to back
        # instead of waiting for the event loop in between.
        events, routing = await asyncio.gather(self._events(set(event_ids)), self._cache.enabled())
        if not events:
            return 0
        subscriptions = routing.subscriptions
        plans = [
            (
                event.id,
                targets_for(event, subscriptions.values(), self._handlers, routing.filters),
            )
            for event in events.values()
        ]
        created, _ = await asyncio.gather(
            asyncio.gather(*(self._committer.submit(plan) for plan in plans)),
            self._refresh_breakers(t.subscription_id for _, targets in plans for t in targets),
        )
        deliveries = [delivery for batch in created if batch is not None for delivery in batch]
        await self._run(deliveries, events, subscriptions)
        return len(deliveries)

    async def _dispatch_batch(self, plans: Sequence[Plan]) -> list[list[Delivery] | None]:
        """One transaction for the plans of every job dispatching meanwhile; an event
        planned twice (two jobs carrying it) gets its deliveries only the first time."""
        created = await self._storage.deliveries.create(
            plans, first_dispatch=True, lease_s=self._lease_s
        )
        if self._on_commit is not None:
            self._on_commit()
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
        events, routing, _ = await asyncio.gather(
            self._events({delivery.event_id for delivery in deliveries}),
            self._cache.enabled(),
            self._refresh_breakers(delivery.subscription_id for delivery in deliveries),
        )
        await self._run(deliveries, events, routing.subscriptions)

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
        await self._attempts.run(work, self._next_in_line)

    async def _next_in_line(self, subscription_id: str) -> None:
        """The head of a fifo subscription's line just finished: claim the next one (if
        it is due and free) and attempt it now rather than at the next sweep."""
        await self.attempt(
            await self._storage.deliveries.claim_heads([subscription_id], self._lease_s)
        )

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

    async def _refresh_breakers(self, subscription_ids: Iterable[str | None]) -> None:
        """Hand the breakers the current health of the subscriptions about to be attempted."""
        wanted = sorted({sub_id for sub_id in subscription_ids if sub_id is not None})
        if wanted:
            self._breakers.refresh(await self._storage.subscriptions.health(wanted))

    async def _events(self, event_ids: Collection[str]) -> dict[str, Event]:
        return {event.id: event for event in await self._storage.events.get_many(event_ids)}
