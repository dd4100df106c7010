"""Starting up as a user meets it: a port someone else holds, a database still booting.

Real processes, a real socket holding the port, a real PostgreSQL behind a late proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.gateway.test_crash import free_port
from tests.hookgate.test_cli import environment, hookgate, write_config

REDIS_URL = "redis://127.0.0.1:6379/11"


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 with another program listening on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_busy_port_exits_at_once_naming_the_address(tmp_path: Path, command: str) -> None:
    """serve and dev on a port in use exit 1 with one line naming the address, no
    traceback; dev does not hang on its worker (the run is bounded by a timeout)."""
    with held_port() as port:
        config = write_config(
            tmp_path,
            f"sqlite:///{tmp_path / 'busy.db'}",
            f"server: {{host: 127.0.0.1, port: {port}}}\nredis: {{url: '{REDIS_URL}'}}\n",
        )
        assert 0 == hookgate("--config", str(config), "migrate", cwd=tmp_path).returncode

        result = hookgate("--config", str(config), command, cwd=tmp_path)

    assert 1 == result.returncode
    assert (
        f"hookgate: cannot listen on 127.0.0.1:{port}: address already in use"
        == result.stderr.splitlines()[-1]
    )
    assert "Traceback" not in result.stderr + result.stdout


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def test_migrate_waits_for_a_database_that_comes_up_late(
    tmp_path: Path, postgres_url: str
) -> None:
    """migrate started before PostgreSQL listens keeps retrying and succeeds once it does
    (here: a TCP proxy to the real server that opens 1.5 s after migrate starts)."""
    target = urlsplit(postgres_url)
    port = free_port()
    user = target.netloc.rpartition("@")[0]
    config = write_config(tmp_path, target._replace(netloc=f"{user}@127.0.0.1:{port}").geturl())
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hookgate", "--config", str(config), "migrate"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
    )

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    await asyncio.sleep(1.5)
    proxy = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        proxy.close()
        await proxy.wait_closed()

    assert 0 == process.returncode, stderr.decode()
    assert b"migrated: schema already current\n" == stdout
    assert b'"event":"storage_unreachable"' in stderr
