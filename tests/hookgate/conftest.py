"""Fixtures of the remote commands' tests: ``hookgate serve`` and ``hookgate worker``
running, and a receiver."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import yaml

from core.queue import close_queue, connect_queue
from storage import Storage
from tests.conftest import SECRET_KEY
from tests.gateway.test_crash import free_port, wait_until_listening
from tests.hookgate.remote import REDIS_URL, Live, Receiver, cli, spawn, stop
from tests.signing import SECRET


@pytest.fixture
async def live(tmp_path: Path, storage_url: str, storage: Storage) -> AsyncIterator[Live]:
    """``hookgate serve`` and ``hookgate worker`` as two processes, migrated, an admin;
    on storage emptied first (``storage`` truncates PostgreSQL's shared test database)."""
    redis = connect_queue(REDIS_URL)
    await redis.flushdb()
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "storage": {"url": storage_url},
                "redis": {"url": REDIS_URL},
                "security": {"secret_key": SECRET_KEY, "allowed_target_networks": ["127.0.0.0/8"]},
                "delivery": {"sweep_interval_s": 0.5, "max_attempts": 1},
                "worker": {"port": 0},
                "sources": [{"name": "gh", "verifier": "github", "secrets": [SECRET]}],
            }
        )
    )
    env = {**os.environ, "HOOKGATE_CONFIG": str(config)}
    assert 0 == cli("migrate", env=env, cwd=tmp_path).returncode
    created = cli(
        *("users", "create", "--name", "Ops", "--role", "admin", "--json"),
        *("--email", f"ops-{uuid.uuid4().hex[:8]}@example.com"),
        env=env,
        cwd=tmp_path,
    )
    key = orjson.loads(created.stdout)["api_key"]
    serve = await spawn("serve", env=env, cwd=tmp_path)
    worker = await spawn("worker", env=env, cwd=tmp_path)
    try:
        await wait_until_listening(port, serve)
        yield Live(f"http://127.0.0.1:{port}", key, tmp_path)
    finally:
        await stop(serve)
        await stop(worker)
        await redis.flushdb()
        await close_queue(redis)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on a free port (not started)."""
    made = Receiver(free_port())
    yield made
    await made.stop()
