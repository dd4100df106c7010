"""Ingest throughput: signed events/s accepted durably, beside a bare aiohttp baseline.

Starts ``hookgate serve`` (one process) on SQLite and on PostgreSQL, with Redis, and a
bare aiohttp handler answering 202; drives each with wrk (2 threads, 64 connections)
posting Standard-Webhooks-signed ~1 KB JSON bodies with distinct ids, pre-signed so
the load generator spends no CPU on HMAC. Then checks that every 2xx is stored.

    python -m bench.ingest [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
import yaml

from bench.support import free_port, run_wrk, temporary_database
from storage import open_storage

SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"bench-signing-key-0123456789abcd").decode()
REDIS_URL = "redis://127.0.0.1:6379/12"
LUA = Path(__file__).with_name("ingest.lua")


def body_1kb() -> bytes:
    """A ~1 KB JSON event body."""
    document = {"type": "invoice.paid", "data": {"object": {"id": "in_1", "amount": 4200}}}
    document["data"]["object"]["memo"] = "x" * (1024 - len(orjson.dumps(document)) - 10)
    return orjson.dumps(document)


def write_signed_headers(path: Path, body: bytes, count: int) -> None:
    """``count`` lines of ``id<TAB>timestamp<TAB>signature``, each id distinct."""
    key = base64.b64decode(SIGNING_SECRET.removeprefix("whsec_"))
    timestamp = str(int(time.time()))
    run = secrets.token_hex(4)
    with path.open("w") as out:
        for n in range(count):
            msg_id = f"msg_{run}_{n}"
            digest = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")
            out.write(f"{msg_id}\t{timestamp}\tv1,{base64.b64encode(digest).decode()}\n")


def drive(
    port: int, seconds: float, connections: int, headers: Path, body: Path
) -> dict[str, float]:
    """Drive ``/ingest/sw`` on ``port``; requests/s, p50/p99 ms and non-2xx count."""
    return run_wrk(
        LUA,
        f"http://127.0.0.1:{port}/ingest/sw",
        connections=connections,
        seconds=seconds,
        script_args=(str(headers), str(body), "2"),
    )


async def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Poll until the server answers HTTP (bounded)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("server exited at start")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


def start(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A server process with its output discarded."""
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


async def serve_ingest(
    storage_url: str, folder: Path, **extra: object
) -> tuple[subprocess.Popen[bytes], int]:
    """``hookgate serve`` on ``storage_url`` with one Standard Webhooks source (and the
    ``extra`` top-level config sections), listening on a free port; the process and port."""
    port = free_port()
    config = folder / f"config-{port}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "storage": {"url": storage_url},
                "redis": {"url": REDIS_URL},
                "security": {"secret_key": SECRET_KEY},
                "sources": [
                    {"name": "sw", "verifier": "standard-webhooks", "secrets": [SIGNING_SECRET]}
                ],
                **extra,
            }
        )
    )
    process = start(
        [sys.executable, "-m", "hookgate", "--config", str(config), "serve"],
        {**os.environ, "HOOKGATE_CONFIG": ""},
    )
    try:
        await wait_until_listening(port, process)
    except BaseException:
        stop(process)
        raise
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def bench_hookgate(
    storage_url: str, args: argparse.Namespace, files: tuple[Path, Path], folder: Path
) -> dict[str, float]:
    """Run ``hookgate serve`` on ``storage_url`` under load; figures and stored count."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
    process, port = await serve_ingest(storage_url, folder)
    try:
        figures = drive(port, args.seconds, args.connections, *files)
    finally:
        stop(process)
    async with open_storage(storage_url, SECRET_KEY) as storage:
        row = await storage.db.fetchrow("SELECT COUNT(*) AS n FROM events")
        figures["stored"] = float(row["n"]) if row is not None else 0.0
    return figures


async def main(args: argparse.Namespace) -> None:
    """Print the ingest table: bare baseline, then hookgate on each backend."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    async with temporary_database(admin_url) as pg_url:
        results = await run_all(pg_url, args)
    report(results, args)


async def run_all(pg_url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The baseline, then hookgate on SQLite and on PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        body_path, headers_path = folder / "body.json", folder / "headers.tsv"
        body = body_1kb()
        body_path.write_bytes(body)
        write_signed_headers(headers_path, body, int(args.seconds * 40_000))
        files = (headers_path, body_path)
        port = free_port()
        bare = start([sys.executable, "-m", "bench.bare_server", str(port)])
        try:
            await asyncio.sleep(1.0)
            baseline = drive(port, args.seconds, args.connections, *files)
        finally:
            stop(bare)
        results = {"bare aiohttp (202, no work)": baseline}
        results["hookgate, sqlite"] = await bench_hookgate(
            f"sqlite:///{folder / 'bench.db'}", args, files, folder
        )
        results["hookgate, postgresql"] = await bench_hookgate(pg_url, args, files, folder)
    return results


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """Print the table, each target beside the bare baseline."""
    baseline = results["bare aiohttp (202, no work)"]
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, ~1 KB signed bodies, distinct ids")
    columns = ("req/s", "vs bare", "p50 ms", "p99 ms", "non-2xx", "stored")
    print(f"{'target':<30}" + "".join(f"{name:>9}" for name in columns))
    for target, r in results.items():
        cells = (
            f"{r['rps']:,.0f}",
            f"{r['rps'] / baseline['rps']:.2f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{r['non_2xx']:,.0f}",
            f"{r['stored']:,.0f}" if "stored" in r else "-",
        )
        print(f"{target:<30}" + "".join(f"{cell:>9}" for cell in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
