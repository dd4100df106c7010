"""Handlers the relay tests configure (``tests.relay.handlers:<name>``).

Module-level lists are how a handler run by the worker reports to the test; each
test clears what it uses.
"""

from __future__ import annotations

from storage.records import Event

RECEIVED: list[Event] = []
OPERATIONAL: list[Event] = []
FLAKY_FAILURES: list[str] = []


async def record(event: Event) -> None:
    """Remember the event."""
    RECEIVED.append(event)


async def record_operational(event: Event) -> None:
    """Remember an operational event."""
    OPERATIONAL.append(event)


async def flaky(event: Event) -> None:
    """Fail the first time an event arrives, succeed afterwards."""
    if event.id not in FLAKY_FAILURES:
        FLAKY_FAILURES.append(event.id)
        raise RuntimeError(f"first try of {event.id} fails")


def not_async(event: Event) -> None:
    """A handler written wrongly (not async)."""
