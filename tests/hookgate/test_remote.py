"""Remote commands as a user runs them: real ``hookgate serve`` and ``hookgate worker``
processes on a free port, the CLI as a process, a real aiohttp receiver verifying
signatures with the ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from aiohttp import web
from standardwebhooks import Webhook

from core.queue import close_queue, connect_queue
from storage import Storage
from tests.conftest import SECRET_KEY
from tests.gateway.test_crash import free_port, wait_until_listening
from tests.signing import SECRET, mac

REDIS_URL = "redis://127.0.0.1:6379/9"
LISTEN_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WAIT_S = 20.0


@dataclass(frozen=True)
class Live:
    """A running hookgate: its URL, an admin key, the environment the CLI runs with."""

    url: str
    key: str
    folder: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The CLI's environment: ``HOOKGATE_URL`` and ``HOOKGATE_API_KEY`` set."""
        environ = {**os.environ, "HOOKGATE_URL": self.url, "HOOKGATE_API_KEY": self.key}
        environ.pop("HOOKGATE_CONFIG", None)
        return {**environ, **extra}


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``hookgate ARGS`` to the end."""
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "hookgate", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def spawn(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start ``hookgate ARGS`` in the background."""
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hookgate", *args),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


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
                "delivery": {"sweep_interval_s": 0.5},
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


class Receiver:
    """A local app on a port: records what it is sent, answers 204."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where to send."""
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        """Listen."""
        app = web.Application()
        app.router.add_post("/hooks", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        async with self._arrived:
            self._arrived.notify_all()
        return web.Response(status=204)

    async def until(self, count: int) -> None:
        """Wait (bounded) until ``count`` requests arrived."""
        async with asyncio.timeout(WAIT_S), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on a free port (not started)."""
    made = Receiver(free_port())
    yield made
    await made.stop()


async def ingest(live: Live, event_type: str = "push") -> str:
    """Post a signed GitHub webhook; the event id."""
    body = orjson.dumps({"action": "opened", "n": uuid.uuid4().hex})
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live.url}/ingest/gh",
            data=body,
            headers={
                "x-hub-signature-256": "sha256=" + mac("sha256", body).hex(),
                "x-github-delivery": str(uuid.uuid4()),
                "x-github-event": event_type,
                "content-type": "application/json",
            },
        ) as answer,
    ):
        assert 202 == answer.status, await answer.text()
        event_id: str = (await answer.json())["id"]
        return event_id


async def api(live: Live, method: str, path: str, body: Any = None) -> Any:
    """Call the API as the admin."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            f"{live.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {live.key}"},
        ) as answer,
    ):
        return await answer.json()


async def test_events_list_and_retry_one_delivery(live: Live, receiver: Receiver) -> None:
    """``events list --json`` prints the ingested event; ``deliveries retry ID`` makes
    the worker deliver it again (the receiver gets it twice)."""
    await receiver.start()
    await api(live, "POST", "/subscriptions", {"url": receiver.url})
    event_id = await ingest(live)
    await receiver.until(1)
    [delivery] = (await api(live, "GET", f"/deliveries?event_id={event_id}"))["data"]

    listed = cli("events", "list", "--json", env=live.env(), cwd=live.folder)
    retried = cli("deliveries", "retry", delivery["id"], env=live.env(), cwd=live.folder)
    await receiver.until(2)

    assert (0, 0) == (listed.returncode, retried.returncode), listed.stderr + retried.stderr
    assert [event_id] == [event["id"] for event in orjson.loads(listed.stdout)]
    assert f"retrying {delivery['id']}: pending, due now\n" == retried.stdout
    assert [event_id, event_id] == [headers["webhook-id"] for _, headers in receiver.received]


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
async def test_listen_forwards_signed_and_outlives_a_receiver_that_is_down(
    live: Live, receiver: Receiver
) -> None:
    """``listen`` reports an event it could not forward (the local app is down) and goes
    on; once the app is up, the next event arrives with its raw body and a signature the
    ``standardwebhooks`` package accepts; Ctrl-C ends it with status 0."""
    listen = await spawn(
        *("listen", "--forward-to", receiver.url, "--secret", LISTEN_SECRET),
        env=live.env(),
        cwd=live.folder,
    )
    try:
        assert listen.stderr is not None
        assert listen.stdout is not None
        started = await asyncio.wait_for(listen.stderr.readline(), WAIT_S)
        await asyncio.sleep(0.5)  # connected to the stream
        missed = await ingest(live, "issues")
        refused = await asyncio.wait_for(listen.stdout.readline(), WAIT_S)
        await receiver.start()
        forwarded = await ingest(live, "push")
        delivered = await asyncio.wait_for(listen.stdout.readline(), WAIT_S)
        await receiver.until(1)
        listen.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(listen.wait(), WAIT_S)
    finally:
        await stop(listen)

    [(body, headers)] = receiver.received
    event = await api(live, "GET", f"/events/{forwarded}")
    Webhook(LISTEN_SECRET).verify(body, headers)
    assert f"signed with {LISTEN_SECRET}" in started.decode()
    assert (
        f"{missed}  issues  -> {receiver.url}  [failed: cannot connect: connection refused]\n"
    ) == refused.decode()
    assert f"{forwarded}  push  -> {receiver.url}  [204]\n" == delivered.decode()
    assert (forwarded, "application/json", event["body"]) == (
        headers["webhook-id"],
        headers["Content-Type"],
        orjson.loads(body),
    )
    assert 0 == code


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
async def test_mistakes_are_one_line(live: Live, tmp_path: Path) -> None:
    """An unreachable --url and a wrong key each print one line and exit 1; bad usage
    exits 2."""
    unreachable = cli(
        "events", "list", "--url", f"http://127.0.0.1:{free_port()}", env=live.env(), cwd=tmp_path
    )
    wrong_key = cli("events", "list", env=live.env(HOOKGATE_API_KEY="hg_wrong"), cwd=tmp_path)
    no_target = cli("deliveries", "retry", env=live.env(), cwd=tmp_path)

    assert (1, 1, 2) == (unreachable.returncode, wrong_key.returncode, no_target.returncode)
    assert 1 == len(unreachable.stderr.splitlines())
    assert unreachable.stderr.endswith(": connection refused\n")
    assert "hookgate: cannot reach hookgate at http://127.0.0.1:" in unreachable.stderr
    assert [
        "hookgate: the API key was refused: the API key is not valid (unknown or revoked)"
    ] == wrong_key.stderr.splitlines()
    assert "give a delivery ID, or --status for a bulk retry" in no_target.stderr
    assert "Traceback" not in unreachable.stderr + wrong_key.stderr + no_target.stderr
