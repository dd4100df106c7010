"""The relay: the arq worker that delivers every stored event at least once.

Storage is the source of truth and arq only dispatches. ``dispatch_events`` turns
events into deliveries and attempts them in the same job; a sweeper in every worker
re-drives whatever storage says is undispatched, due or abandoned, so a lost job, a
killed worker or a flushed Redis costs latency, never a delivery.

Public surface: ``relay.worker.run_worker`` (``hookgate worker``),
``relay.metrics.RelayMetrics`` (Prometheus text), and the errors in ``relay.errors``.
The rules it enforces (SSRF, matching, redaction) live in ``policy``, which the
gateway uses too.
"""
