"""``hookgate purge`` and ``purge --dry-run``: what would go, then what went."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.clock import now_us
from core.config import parse_config
from hookgate import commands
from storage import Storage, open_storage
from tests.conftest import SECRET_KEY
from tests.hookgate.test_cli import hookgate, write_config
from tests.storage.test_retention import DAY_US, ids, seed


async def test_dry_run_prints_counts_and_deletes_nothing_then_purge_deletes_them(
    storage: Storage, storage_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run names per kind what would go and keeps every row; the purge then
    deletes exactly that and keeps the young event."""
    await seed(storage, now_us() - 40 * DAY_US, ["succeeded", "failed"])
    young = await seed(storage, now_us(), ["succeeded"])
    config = parse_config(
        {"storage": {"url": storage_url}, "security": {"secret_key": SECRET_KEY}}, {}
    )

    dry_status = await commands.purge(config, dry_run=True)
    dry_output = capsys.readouterr().out
    events_after_dry_run = len(await ids(storage, "events"))
    status = await commands.purge(config, dry_run=False)
    last_line = capsys.readouterr().out.splitlines()[-1]  # after the `purged` log line

    assert (0, "would purge: 1 events, 2 deliveries, 2 attempts\n", 2) == (
        dry_status,
        dry_output,
        events_after_dry_run,
    )
    assert (0, "purged: 1 events, 2 deliveries, 2 attempts") == (status, last_line)
    assert {young} == await ids(storage, "events")


def test_purge_dry_run_from_the_command_line(tmp_path: Path) -> None:
    """``hookgate purge --dry-run`` in a real process prints the counts, exits 0, and
    the old event is still there."""
    url = f"sqlite:///{tmp_path / 'hookgate.db'}"

    async def prepare() -> None:
        async with open_storage(url, SECRET_KEY) as storage:
            await storage.migrate()
            await seed(storage, now_us() - 40 * DAY_US, ["succeeded"])

    async def events() -> int:
        async with open_storage(url, SECRET_KEY) as storage:
            return len(await ids(storage, "events"))

    asyncio.run(prepare())
    config = write_config(tmp_path, url, "retention: {events: 30d, attempts: 0}\n")

    done = hookgate("--config", str(config), "purge", "--dry-run", cwd=tmp_path)

    assert (0, "would purge: 1 events, 1 deliveries, 1 attempts\n") == (
        done.returncode,
        done.stdout,
    )
    assert 1 == asyncio.run(events())
