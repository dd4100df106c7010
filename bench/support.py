"""What every benchmark needs: a throwaway PostgreSQL database, a free port, wrk's figures."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


@asynccontextmanager
async def temporary_database(admin_url: str, prefix: str = "hookgate_bench") -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one run (its URL), dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_wrk(
    script: Path, url: str, *, connections: int, seconds: float, script_args: tuple[str, ...]
) -> dict[str, float]:
    """One wrk run (2 threads) of ``script`` against ``url``; its figures (see ``parse_wrk``)."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]
    return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, requests, p50 and p99 in ms, and non-2xx answers from wrk's report."""
    return {
        "rps": float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        "requests": float(_find(r"(\d+) requests in", output)),
        "p50": _millis(_find(r"50%\s+([\d.]+\w+)", output)),
        "p99": _millis(_find(r"99%\s+([\d.]+\w+)", output)),
        "non_2xx": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output))
        else 0.0,
    }


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk said: {text}")
    return match.group(1)


def _millis(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
