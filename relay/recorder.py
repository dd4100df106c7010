"""Writing attempts down: concurrent attempts share one transaction (group commit).

Every attempt ends with a ``record``; under load hundreds finish per second, and a
commit each would make the relay as slow as the disk's fsync. ``Recorder`` batches
whatever is waiting while the previous batch commits (``storage.group_commit``), so
an idle worker commits at once and a busy one in large batches. Each caller is
released only once its attempt is durable. The same transaction moves each
subscription's last success and failure times forward and clears the failure count
of those that succeeded with failures to clear: one statement per batch, whatever its
size (``Attempts.record``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.attempts import Attempts
from storage.group_commit import GroupCommitter
from storage.records import Delivery, Outcome

Item = tuple[str, Outcome, str | None]


class Recorder:
    """Records outcomes in batches."""

    def __init__(
        self,
        attempts: Attempts,
        max_batch: int = 256,
        *,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._attempts = attempts
        # Told after each batch commits (``core.wakeups``: live streams read the feed).
        self._on_commit = on_commit
        self._committer: GroupCommitter[Item, Delivery | None] = GroupCommitter(
            self._commit, max_batch
        )

    async def record(
        self, delivery_id: str, outcome: Outcome, healthy: str | None = None
    ) -> Delivery | None:
        """Store ``outcome``, and clear subscription ``healthy``'s failure count; the
        delivery after it (None if it no longer exists)."""
        return await self._committer.submit((delivery_id, outcome, healthy))

    async def _commit(self, items: Sequence[Item]) -> list[Delivery | None]:
        healthy = {sub for _, _, sub in items if sub is not None}
        recorded = await self._attempts.record([(d, outcome) for d, outcome, _ in items], healthy)
        if self._on_commit is not None:
            self._on_commit()
        return recorded

    async def close(self) -> None:
        """Let the batch in flight finish."""
        await self._committer.close()
