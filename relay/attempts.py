"""One delivery attempt from admission to record, and the attempts in flight.

An attempt to a subscription passes its breaker and its limits (or is postponed:
no attempt counted), is sent, judged by ``relay.backoff`` and recorded; then its
consequences follow: breaker counts, a 410 or a long failure disables the
subscription, a delivery that gave up is announced. Handlers skip the breaker and
per-subscription limits. Nothing an attempt does raises out of it: the receiver's
failures are outcomes, and a storage failure leaves the lease to run out so the
sweeper tries again.

``drain`` is the graceful half of shutdown: no new attempt starts, those on the wire
get ``grace_s`` to finish, the rest are cancelled and their leases released so
another worker takes them at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from core.clock import SECOND_US, Clock, now_us
from core.config import DeliveryConfig
from policy.matching import handler_name
from relay import backoff
from relay.breaker import CLOSED, Breakers, Gate
from relay.handlers import Handler
from relay.http import Sender
from relay.limits import Busy, Limits
from relay.metrics import RelayMetrics
from relay.operational import Announcer
from relay.outbound import build_request
from relay.recorder import Recorder
from relay.tasks import finish_or_cancel
from storage import Storage
from storage.records import Delivery, ErrorKind, Event, Outcome, Subscription, error_detail
from verifiers.signer import StandardWebhooksSigner

log = structlog.get_logger()


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
        handlers: Mapping[str, Handler],
        limits: Limits,
        breakers: Breakers,
        recorder: Recorder,
        announcer: Announcer,
        metrics: RelayMetrics,
        config: DeliveryConfig,
        clock: Clock = now_us,
    ) -> None:
        self._storage = storage
        self._sender = sender
        self._handlers = handlers
        self._limits = limits
        self._breakers = breakers
        self._recorder = recorder
        self._announcer = announcer
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

    async def run(self, work: Sequence[Work]) -> None:
        """Attempt each concurrently; return once each is sent (its record may still be
        committing, with others, in the background), postponed or released.

        Returning before the record keeps jobs short, so arq re-checks fewer jobs in
        flight at every poll; ``drain`` and ``settle`` wait for the records.
        """
        sent = [self._spawn(item) for item in work]
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

    def _spawn(self, work: Work) -> asyncio.Future[None]:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._attempt(work, sent))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return sent

    async def _attempt(self, work: Work, sent: asyncio.Future[None]) -> None:
        delivery_id = work.delivery.id
        try:
            await self._admit_and_send(work, sent)
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

    async def _admit_and_send(self, work: Work, sent: asyncio.Future[None]) -> None:
        delivery, subscription = work.delivery, work.subscription
        if self.closing():
            await self._storage.deliveries.release([delivery.id])
            return
        gate = CLOSED
        if subscription is not None:
            gate = await self._breakers.gate(subscription.id, self._clock())
            if gate.state == "open" and gate.until is not None:
                await self._postpone(delivery, gate.until)
                return
        admission = await self._limits.admit(
            None if subscription is None else subscription.id,
            None if subscription is None else subscription.fields.rate_limit_per_s,
        )
        if isinstance(admission, Busy):
            await self._postpone(delivery, self._clock() + int(admission.retry_in_s * SECOND_US))
            return
        try:
            if self.closing():  # the worker began to stop while this attempt waited
                await self._storage.deliveries.release([delivery.id])
                return
            if (
                subscription is not None
                and gate.state == "closed"
                and self._breakers.is_open(subscription.id, self._clock())
            ):
                await self._postpone(delivery, self._clock())
                return
            result = await self._send(work)
        finally:
            admission.release()
        _done(sent)
        await self._conclude(work, gate, result)

    async def _send(self, work: Work) -> Outcome:
        attempt = work.delivery.attempt_count + 1
        if work.subscription is None or work.signer is None:
            return await self._call(work)
        request = build_request(
            url=work.subscription.fields.url,
            static_headers=work.subscription.fields.headers,
            event=work.event,
            delivery=work.delivery,
            attempt=attempt,
            signer=work.signer,
            timestamp=self._clock() // SECOND_US,
        )
        outcome = await self._sender.send(request)
        self._metrics.attempt_seconds.labels("http").observe(outcome.duration_ms / 1000)
        return outcome

    async def _call(self, work: Work) -> Outcome:
        name = handler_name(work.delivery.target) or ""
        handler = self._handlers[name]
        started_at, clock = self._clock(), time.perf_counter()
        headers = {
            "hookgate-handler": name,
            "hookgate-attempt": str(work.delivery.attempt_count + 1),
        }
        error: BaseException | None = None
        try:
            async with asyncio.timeout(self._config.timeout_s):
                await handler(work.event)
        except TimeoutError as e:
            error = e
        except Exception as e:
            error = e
        duration_ms = (time.perf_counter() - clock) * 1000
        self._metrics.attempt_seconds.labels("handler").observe(duration_ms / 1000)
        if error is None:
            return Outcome(started_at, duration_ms, headers)
        kind: ErrorKind = "timeout" if isinstance(error, TimeoutError) else "handler_exception"
        return Outcome(
            started_at, duration_ms, headers, error=kind, error_detail=error_detail(error)
        )

    async def _conclude(self, work: Work, gate: Gate, sent: Outcome) -> None:
        delivery, subscription = work.delivery, work.subscription
        now = self._clock()
        outcome = backoff.judge(sent, delivery.attempt_count + 1, self._config, now)
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
        if subscription is not None:
            await self._judge_endpoint(subscription, gate, outcome, now)
        if recorded is not None and recorded.status == "failed":
            await self._announcer.delivery_failed(recorded, work.event, outcome, now)

    async def _judge_endpoint(
        self, subscription: Subscription, gate: Gate, outcome: Outcome, now: int
    ) -> None:
        if outcome.succeeded:
            await self._breakers.succeeded(subscription.id, gate, now)
        elif outcome.response_status == backoff.GONE:
            await self._disable(subscription, "the endpoint answered 410 Gone", now)
        elif outcome.error != "ssrf_blocked" and await self._breakers.failed(subscription.id, now):
            days = self._config.disable_after_s / 86_400
            await self._disable(
                subscription, f"the endpoint failed without a success for {days:g} days", now
            )

    async def _disable(self, subscription: Subscription, reason: str, now: int) -> None:
        if await self._storage.subscriptions.disable(subscription.id, reason, now):
            log.warning("subscription_disabled", subscription_id=subscription.id, reason=reason)
            await self._announcer.subscription_disabled(subscription, reason, now)

    async def _postpone(self, delivery: Delivery, until: int) -> None:
        await self._storage.deliveries.postpone([delivery.id], until)
        self._metrics.deliveries.labels("postponed").inc()

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
