"""``hookgate dev`` end to end, as the README's quickstart runs it: one process, real
Redis, a real receiver verifying hookgate's signature with the stock library."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from aiohttp import web
from standardwebhooks import Webhook

from core.queue import close_queue, connect_queue
from tests.conftest import SECRET_KEY
from tests.gateway.test_crash import free_port, wait_until_listening
from tests.signing import SECRET, mac

REDIS_URL = "redis://127.0.0.1:6379/11"


def write_config(folder: Path, port: int) -> Path:
    """A dev config: SQLite, its own Redis database, local receivers allowed."""
    path = folder / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "storage": {"url": f"sqlite:///{folder / 'dev.db'}"},
                "redis": {"url": REDIS_URL},
                "security": {
                    "secret_key": SECRET_KEY,
                    "allowed_target_networks": ["127.0.0.0/8"],
                },
                "delivery": {"sweep_interval_s": 0.5},
                "sources": [{"name": "gh", "verifier": "github", "secrets": [SECRET]}],
            }
        )
    )
    return path


def hookgate(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a short hookgate command."""
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "hookgate", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "HOOKGATE_CONFIG": ""},
    )


async def test_dev_ingests_and_delivers_a_verifiable_webhook(tmp_path: Path) -> None:
    """A signed GitHub webhook reaches a subscription that verifies hookgate's signature."""
    redis = connect_queue(REDIS_URL)
    await redis.flushdb()
    received: list[tuple[bytes, dict[str, str]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hooks", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    receiver_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", receiver_port).start()

    port = free_port()
    config = write_config(tmp_path, port)
    hookgate(config, "migrate")
    admin = orjson.loads(
        hookgate(
            config,
            "users",
            "create",
            "--name",
            "Ops",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--json",
        ).stdout
    )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hookgate", "--config", str(config), "dev"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOOKGATE_CONFIG": ""},
    )
    try:
        await wait_until_listening(port, process)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {admin['api_key']}"}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{base}/api/v1/subscriptions",
                headers=auth,
                json={"url": f"http://127.0.0.1:{receiver_port}/hooks", "sources": ["gh"]},
            ) as created:
                assert 201 == created.status, await created.text()
                secret = (await created.json())["secret"]
            body = b'{"action": "opened", "number": 1}'
            async with session.post(
                f"{base}/ingest/gh",
                data=body,
                headers={
                    "x-hub-signature-256": "sha256=" + mac("sha256", body).hex(),
                    "x-github-delivery": str(uuid.uuid4()),
                    "x-github-event": "pull_request",
                    "content-type": "application/json",
                },
            ) as ingested:
                assert 202 == ingested.status, await ingested.text()
                event_id = (await ingested.json())["id"]
            for _ in range(200):
                if received:
                    break
                await asyncio.sleep(0.05)
            status = await _delivery_status(session, base, auth, event_id)
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
        await redis.flushdb()
        await close_queue(redis)

    [(delivered_body, headers)] = received
    Webhook(secret).verify(delivered_body, headers)
    assert (body, event_id, "pull_request") == (
        delivered_body,
        headers["webhook-id"],
        headers["hookgate-event-type"],
    )
    assert ("succeeded", 0) == (status, exit_code)


async def _delivery_status(
    session: aiohttp.ClientSession, base: str, auth: dict[str, str], event_id: str
) -> Any:
    """The status of the event's one delivery, once it is no longer pending (bounded)."""
    for _ in range(100):
        async with session.get(
            f"{base}/api/v1/deliveries", params={"event_id": event_id}, headers=auth
        ) as response:
            [delivery] = (await response.json())["data"]
        if delivery["status"] != "pending":
            return delivery["status"]
        await asyncio.sleep(0.05)
    return "pending"
