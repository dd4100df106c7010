"""Group commit: concurrent callers share batches; failures reach exactly their batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from storage.group_commit import GroupCommitter


async def test_concurrent_callers_share_batches_in_order() -> None:
    """100 concurrent submits commit in far fewer batches, each caller getting its own result."""
    batches: list[list[int]] = []

    async def commit(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    committer: GroupCommitter[int, int] = GroupCommitter(commit, max_batch=64)
    results = await asyncio.gather(*(committer.submit(i) for i in range(100)))

    assert [i * 10 for i in range(100)] == results
    assert list(range(100)) == [item for batch in batches for item in batch]
    assert len(batches) <= 3
    assert max(len(batch) for batch in batches) <= 64


async def test_failed_batch_fails_only_its_callers() -> None:
    """A commit that raises fails every caller of that batch and no later caller."""
    calls = 0

    async def commit(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return list(items)

    committer: GroupCommitter[str, str] = GroupCommitter(commit)
    first = await asyncio.gather(
        committer.submit("a"), committer.submit("b"), return_exceptions=True
    )
    later = await committer.submit("c")

    assert [ConnectionError, ConnectionError] == [type(r) for r in first]
    assert "c" == later


async def test_caller_that_gives_up_does_not_cancel_the_batch() -> None:
    """Cancelling one waiting caller leaves the shared commit running for the others."""
    release = asyncio.Event()
    committed: list[str] = []

    async def commit(items: Sequence[str]) -> list[str]:
        await release.wait()
        committed.extend(items)
        return list(items)

    committer: GroupCommitter[str, str] = GroupCommitter(commit)
    quitter = asyncio.create_task(committer.submit("quitter"))
    stayer = asyncio.create_task(committer.submit("stayer"))
    await asyncio.sleep(0)
    quitter.cancel()
    release.set()

    assert "stayer" == await stayer
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert ["quitter", "stayer"] == committed
