"""The worker's Prometheus metrics, on a registry of its own (no process globals).

``RelayMetrics.render()`` returns the text exposition; whoever serves HTTP exposes it:
the worker's own listener (``relay.observe``), or the gateway in ``hookgate dev``. The
backlog gauges are refreshed every few seconds by ``relay.observe.Gauges``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = ("succeeded", "retrying", "failed", "postponed", "cancelled")
PURGED_KINDS = ("events", "deliveries", "attempts", "rollups", "jobs")


class RelayMetrics:
    """Deliveries by outcome, attempt latency, the backlog, sweeper re-drives, purges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "hookgate_deliveries",
            "Delivery attempts by outcome: succeeded, retrying (failed, will retry), "
            "failed (gave up), postponed (breaker, concurrency or rate limit; not an "
            "attempt) and cancelled (target gone).",
            ["outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "hookgate_delivery_errors",
            "Failed attempts by error kind.",
            ["kind"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "hookgate_delivery_attempt_seconds",
            "Duration of delivery attempts, by target kind (http or handler).",
            ["target"],
            buckets=ATTEMPT_BUCKETS,
            registry=self.registry,
        )
        self.due = Gauge(
            "hookgate_deliveries_due",
            "Pending deliveries whose next attempt is due, as of the last sweep.",
            registry=self.registry,
        )
        self.redrives = Counter(
            "hookgate_sweeper_redrives",
            "Work the sweeper re-drove: events never dispatched, deliveries due or abandoned.",
            ["kind"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "hookgate_queue_depth",
            "Jobs in the arq queue (waiting or running), as of the last refresh.",
            registry=self.registry,
        )
        self.pending = Gauge(
            "hookgate_deliveries_pending",
            "Deliveries pending (due or waiting for a retry), as of the last refresh.",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "hookgate_oldest_pending_age_seconds",
            "Age of the oldest pending delivery (0 when none), as of the last refresh.",
            registry=self.registry,
        )
        self.breakers_open = Gauge(
            "hookgate_breakers_open",
            "Subscriptions whose circuit breaker is open, as of the last refresh.",
            registry=self.registry,
        )
        self.purged = Counter(
            "hookgate_purged",
            "Rows purged past their retention, by kind (events, deliveries, attempts, "
            "rollups, jobs).",
            ["kind"],
            registry=self.registry,
        )
        for kind in PURGED_KINDS:
            self.purged.labels(kind)
        for outcome in OUTCOMES:
            self.deliveries.labels(outcome)
        for kind in ("events", "deliveries"):
            self.redrives.labels(kind)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
