"""The gateway's Prometheus metrics, on a registry of its own (no process globals)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    """Ingest counters and latency, plus any extra exposition (the relay's, in ``dev``)."""

    def __init__(self, extra: Callable[[], bytes] | None = None) -> None:
        self._extra = extra
        self.registry = CollectorRegistry()
        self.ingest = Counter(
            "hookgate_ingest_requests",
            "Ingest requests by source and outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.verification_failures = Counter(
            "hookgate_verification_failures",
            "Refused signatures by source and reason.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hookgate_ingest_latency_seconds",
            "Time from request to answer on the ingest route.",
            ["source"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.enqueue_failures = Counter(
            "hookgate_enqueue_failures",
            "Jobs that could not be enqueued (the sweeper re-drives their work).",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        own = generate_latest(self.registry)
        return own if self._extra is None else own + self._extra()
