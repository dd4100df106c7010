"""Acked means durable: kill -9 the gateway under load; every 2xx'd event is stored."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
import yaml

from storage import NotFoundError, Storage, open_storage
from tests.conftest import SECRET_KEY
from tests.gateway.conftest import REDIS_URL
from tests.signing import SECRET, mac

CLIENTS = 24
KILL_AFTER_ACKS = 300


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, storage_url: str, port: int) -> Path:
    """A config with one GitHub source, listening on ``port``."""
    path = folder / "config.yaml"
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"url": storage_url},
        "redis": {"url": REDIS_URL},
        "security": {"secret_key": SECRET_KEY},
        "sources": [{"name": "gh", "verifier": "github", "secrets": [SECRET]}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def wait_until_listening(port: int, process: asyncio.subprocess.Process) -> None:
    """Poll /healthz until the gateway answers (bounded)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert process.returncode is None, "gateway exited at start"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise AssertionError("gateway did not start")


async def drive(port: int, acked: list[str], enough: asyncio.Event) -> None:
    """One client posting distinct signed events until the connection breaks."""
    body = b'{"zen": "Keep it logically awesome."}'
    signature = "sha256=" + mac("sha256", body).hex()
    async with aiohttp.ClientSession() as session:
        for _ in range(10_000):
            headers = {
                "x-hub-signature-256": signature,
                "x-github-delivery": str(uuid.uuid4()),
                "x-github-event": "push",
            }
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/ingest/gh", data=body, headers=headers
                ) as response:
                    if response.status in (200, 202):
                        acked.append(orjson.loads(await response.read())["id"])
            except (aiohttp.ClientError, TimeoutError):
                return
            if len(acked) >= KILL_AFTER_ACKS:
                enough.set()


@asynccontextmanager
async def gateway_under_load(
    tmp_path: Path, storage_url: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str], list[asyncio.Task[None]]]]:
    """A ``hookgate serve`` process with CLIENTS posting, once KILL_AFTER_ACKS were acked.

    Yields the process, the ids acknowledged so far (still growing) and the client tasks.
    """
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
    port = free_port()
    config = write_config(tmp_path, storage_url, port)
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hookgate", "--config", str(config), "serve"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOOKGATE_CONFIG": ""},
    )
    acked: list[str] = []
    try:
        await wait_until_listening(port, process)
        enough = asyncio.Event()
        clients = [asyncio.create_task(drive(port, acked, enough)) for _ in range(CLIENTS)]
        await asyncio.wait_for(enough.wait(), timeout=60)
        yield process, acked, clients
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), timeout=10)


async def missing_from_storage(storage_url: str, event_ids: list[str]) -> list[str]:
    """The ids in ``event_ids`` that storage does not hold."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        return [event_id for event_id in event_ids if not await _exists(storage, event_id)]


async def test_every_acknowledged_event_survives_kill_9(tmp_path: Path, storage_url: str) -> None:
    """SIGKILL mid-load loses nothing that was answered 2xx."""
    async with gateway_under_load(tmp_path, storage_url) as (process, acked, clients):
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*clients), timeout=30)

    assert len(acked) >= KILL_AFTER_ACKS
    assert [] == await missing_from_storage(storage_url, acked)


async def test_sigterm_finishes_in_flight_requests_and_exits_cleanly(
    tmp_path: Path, storage_url: str
) -> None:
    """SIGTERM mid-load: the process exits 0, and every 2xx'd event is stored."""
    async with gateway_under_load(tmp_path, storage_url) as (process, acked, clients):
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(process.wait(), timeout=30)
        await asyncio.wait_for(asyncio.gather(*clients), timeout=30)

    assert 0 == exit_code
    assert [] == await missing_from_storage(storage_url, acked)


async def _exists(storage: Storage, event_id: str) -> bool:
    try:
        await storage.events.get(event_id)
    except NotFoundError:
        return False
    return True
