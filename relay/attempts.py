"""One delivery attempt, start to finish, and the attempts in flight.

An attempt is spawned, admitted (``relay.admission``: past its breaker and limits, or
postponed without counting an attempt), sent (``relay.http``) or, for a handler,
called (``relay.calls``), judged (``relay.backoff``) and recorded (``relay.recorder``);
then its consequences follow (``relay.consequences``: breaker counts, disabling,
announcements). Nothing an attempt does raises out of it: the receiver's failures are
outcomes, and a storage failure leaves the lease to run out so the sweeper tries again.

A fifo subscription's deliveries go one at a time (``storage.deliveries`` leases only
the head of its line): when an attempt finishes a head for good, the caller's
``next_in_line`` is handed the subscription, to claim and attempt the next one at once
rather than at the next sweep.

``drain`` is the graceful half of shutdown: no new attempt starts, those on the wire
get ``grace_s`` to finish, the rest are cancelled and their leases released so
another worker takes them at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from core.clock import SECOND_US, Clock, now_us
from core.config import DeliveryConfig
from core.tasks import finish_or_cancel
from relay import backoff
from relay.admission import Admission
from relay.breaker import Breakers, Gate
from relay.calls import Calls
from relay.consequences import Consequences
from relay.http import Sender
from relay.limits import Limits
from relay.metrics import RelayMetrics
from relay.outbound import build_request
from relay.recorder import Recorder
from storage import Storage
from storage.records import Delivery, Event, Outcome, Subscription
from verifiers.signer import StandardWebhooksSigner

log = structlog.get_logger()
NextInLine = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Work:
    """One delivery to attempt, with what it needs: a subscription and its signer, or
    neither for a handler."""

    delivery: Delivery
    event: Event
    subscription: Subscription | None = None
    signer: StandardWebhooksSigner | None = None


class Attempts:
    """Runs attempts and keeps track of those in flight."""

    def __init__(
        self,
        *,
        storage: Storage,
        sender: Sender,
        calls: Calls,
        limits: Limits,
        breakers: Breakers,
        recorder: Recorder,
        consequences: Consequences,
        metrics: RelayMetrics,
        config: DeliveryConfig,
        clock: Clock = now_us,
    ) -> None:
        self._storage = storage
        self._admission = Admission(
            deliveries=storage.deliveries,
            limits=limits,
            breakers=breakers,
            metrics=metrics,
            closing=self.closing,
            clock=clock,
        )
        self._sender = sender
        self._calls = calls
        self._breakers = breakers
        self._recorder = recorder
        self._consequences = consequences
        self._metrics = metrics
        self._config = config
        self._clock = clock
        self._in_flight: set[asyncio.Task[None]] = set()
        self._cleanups: set[asyncio.Task[int]] = set()
        self._closing = False

    def closing(self) -> bool:
        """Whether ``drain`` began: attempts not yet on the wire are released instead."""
        return self._closing

    @property
    def in_flight(self) -> int:
        """How many attempts are running."""
        return len(self._in_flight)

    async def run(self, work: Sequence[Work], next_in_line: NextInLine | None = None) -> None:
        """Attempt each concurrently; return once each is sent (its record may still be
        committing, with others, in the background), postponed or released.
        ``next_in_line(subscription_id)`` follows each recorded attempt that finished the
        head of a fifo subscription's line for good.

        Returning before the record keeps jobs short, so arq re-checks fewer jobs in
        flight at every poll; ``drain`` and ``settle`` wait for the records.
        """
        sent = [self._spawn(item, next_in_line) for item in work]
        if sent:
            await asyncio.gather(*sent)

    async def settle(self, timeout_s: float | None = None) -> None:
        """Wait (at most ``timeout_s``) until no attempt is in flight; nothing is cancelled."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._in_flight:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            await asyncio.wait(set(self._in_flight), timeout=left)

    def _spawn(self, work: Work, next_in_line: NextInLine | None) -> asyncio.Future[None]:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._attempt(work, sent, next_in_line))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return sent

    async def _attempt(
        self, work: Work, sent: asyncio.Future[None], next_in_line: NextInLine | None
    ) -> None:
        delivery_id = work.delivery.id
        try:
            await self._admit_and_send(work, sent, next_in_line)
        except asyncio.CancelledError:
            # Cancelled mid-attempt (shutdown): give the delivery back now rather than
            # when the lease runs out. The release outlives this task.
            self._release_later(delivery_id)
            raise
        except Exception:
            # A bug in an attempt must not take the worker down. It is logged with its
            # trace, and the delivery stays leased: when the lease ends the sweeper
            # claims it again, so nothing is lost.
            log.exception("attempt_crashed", delivery_id=delivery_id)
        finally:
            _done(sent)

    def _release_later(self, delivery_id: str) -> None:
        task = asyncio.create_task(self._storage.deliveries.release([delivery_id]))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _admit_and_send(
        self, work: Work, sent: asyncio.Future[None], next_in_line: NextInLine | None
    ) -> None:
        admitted = await self._admission.admit(work.delivery, work.subscription)
        if admitted is None:
            return
        try:
            outcome = await self._send(work)
        finally:
            admitted.permit.release()
        _done(sent)
        recorded = await self._conclude(work, admitted.gate, outcome)
        subscription = work.subscription
        if (
            next_in_line is not None
            and subscription is not None
            and subscription.fields.ordering == "fifo"
            and recorded is not None
            and recorded.status != "pending"
        ):
            await next_in_line(subscription.id)

    async def _send(self, work: Work) -> Outcome:
        if work.subscription is None or work.signer is None:
            return await self._calls.call(work.delivery, work.event)
        request = build_request(
            url=work.subscription.fields.url,
            static_headers=work.subscription.fields.headers,
            event=work.event,
            delivery=work.delivery,
            attempt=work.delivery.attempt_count + 1,
            signer=work.signer,
            timestamp=self._clock() // SECOND_US,
        )
        outcome = await self._sender.send(request)
        self._metrics.attempt_seconds.labels("http").observe(outcome.duration_ms / 1000)
        return outcome

    async def _conclude(self, work: Work, gate: Gate, sent: Outcome) -> Delivery | None:
        """Judge the attempt, record it, then follow its consequences; the delivery as
        recorded (None if it no longer exists)."""
        delivery, subscription = work.delivery, work.subscription
        now = self._clock()
        retry = None if subscription is None else subscription.fields.retry
        outcome = backoff.judge(sent, delivery.attempt_count + 1, self._config, now, retry=retry)
        subscription_id = None if subscription is None else subscription.id
        # A success clears the subscription's failure count with the record, but only
        # when there is one to clear: a no-op UPDATE still takes SQLite's write lock.
        reset = subscription_id if outcome.succeeded and subscription_id else None
        if reset is not None and self._breakers.healthy(reset):
            reset = None
        recorded = await self._recorder.record(delivery.id, outcome, reset)
        self._count(outcome)
        log.info(
            "delivery_attempted",
            delivery_id=delivery.id,
            event_id=work.event.id,
            subscription_id=subscription_id,
            attempt=delivery.attempt_count + 1,
            status=outcome.response_status,
            error=outcome.error,
            outcome=outcome.status,
            duration_ms=round(outcome.duration_ms, 2),
        )
        await self._consequences.follow(
            outcome,
            event=work.event,
            subscription=subscription,
            gate=gate,
            recorded=recorded,
            now=now,
        )
        return recorded

    def _count(self, outcome: Outcome) -> None:
        label = "retrying" if outcome.status == "pending" else str(outcome.status)
        self._metrics.deliveries.labels(label).inc()
        if outcome.error is not None:
            self._metrics.errors.labels(outcome.error).inc()

    async def drain(self, grace_s: float) -> None:
        """Start nothing new; let attempts in flight finish within ``grace_s``, then
        cancel the rest and release their leases."""
        self._closing = True
        await finish_or_cancel(set(self._in_flight), grace_s)
        if self._cleanups:
            await asyncio.gather(*set(self._cleanups), return_exceptions=True)


def _done(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` unless it already is (or its waiter gave up on it)."""
    if not future.done():
        future.set_result(None)
