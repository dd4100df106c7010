"""How long things may take, derived from ``delivery`` config in one place.

An attempt is bounded: at most ``admission_wait_s`` waiting for a slot or rate token
(then it is postponed instead), then ``delivery.timeout_s`` on the wire, then its
record. A job attempts its deliveries concurrently, so::

    job_timeout_s = admission_wait_s + timeout_s + STORAGE_SLACK_S

The **lease** a worker takes on deliveries it is about to attempt (in
``dispatch_events``, ``deliver`` or the sweeper) must outlast the job, or a second
worker could claim a delivery still in flight::

    lease_s = 2 * job_timeout_s      (40 s with the default 15 s timeout)

After a kill -9 the sweeper re-attempts the dead worker's deliveries when that lease
runs out; that is the price of never attempting one twice while a worker lives.
A SIGTERM releases the leases of attempts it could not finish, so no wait then.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import DeliveryConfig

ADMISSION_WAIT_S = 2.0
STORAGE_SLACK_S = 3.0


@dataclass(frozen=True, slots=True)
class Timing:
    """The relay's time budget (seconds)."""

    attempt_timeout_s: float
    admission_wait_s: float
    job_timeout_s: float
    lease_s: float
    sweep_interval_s: float
    redispatch_after_s: float
    drain_s: float
    probe_hold_s: float


def timing_for(delivery: DeliveryConfig) -> Timing:
    """The budget for ``delivery`` settings (see the module docstring)."""
    job_timeout = ADMISSION_WAIT_S + delivery.timeout_s + STORAGE_SLACK_S
    return Timing(
        attempt_timeout_s=delivery.timeout_s,
        admission_wait_s=ADMISSION_WAIT_S,
        job_timeout_s=job_timeout,
        lease_s=2 * job_timeout,
        sweep_interval_s=delivery.sweep_interval_s,
        # An event younger than this may still have its dispatch job on the way: the
        # sweeper leaves it alone (re-driving it would only be a wasted no-op).
        redispatch_after_s=max(1.0, 2 * delivery.sweep_interval_s),
        # On SIGTERM, attempts already on the wire get their timeout to finish.
        drain_s=delivery.timeout_s + STORAGE_SLACK_S,
        # A half-open probe holds the breaker at least as long as it may take.
        probe_hold_s=max(delivery.breaker.cooldown_s, job_timeout),
    )
