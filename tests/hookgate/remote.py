"""What the remote commands' tests share: a running hookgate (``Live``), the CLI as a
process, a local receiver, and calls to ingest and to the API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from tests.signing import mac

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


class Receiver:
    """A local app on a port: records what it is sent, answers ``status`` (204)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 204
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
        return web.Response(status=self.status)

    async def until(self, count: int) -> None:
        """Wait (bounded) until ``count`` requests arrived."""
        async with asyncio.timeout(WAIT_S), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


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
