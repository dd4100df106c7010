"""The live stream under load: 100 clients, each seeing every event, and what they cost.

Starts ``hookgate serve`` (one process) on SQLite and on PostgreSQL, with Redis, then:

1. ingest throughput with no stream open (wrk, as ``bench.ingest``: signed ~1 KB
   bodies, distinct ids);
2. the same with ``--clients`` streams open and reading (the baseline, same run);
3. ``--rate`` events/s paced from this process for ``--seconds`` while every client
   parses its stream: ingest→seen latency (from sending the request to a client reading
   the record), p50/p99 over every (client, event), and whether each client saw every
   event.

    python -m bench.stream [--clients 100] [--rate 500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
import yaml

from bench.ingest import (
    REDIS_URL,
    SECRET_KEY,
    SIGNING_SECRET,
    body_1kb,
    drive,
    start,
    stop,
    wait_until_listening,
    write_signed_headers,
)
from bench.support import free_port, temporary_database
from storage import open_storage


def signed(body: bytes, msg_id: str) -> dict[str, str]:
    """Standard Webhooks headers for ``body`` as ``msg_id``."""
    key = base64.b64decode(SIGNING_SECRET.removeprefix("whsec_"))
    timestamp = str(int(time.time()))
    digest = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{base64.b64encode(digest).decode()}",
        "content-type": "application/json",
    }


async def drain(response: aiohttp.ClientResponse, stopping: asyncio.Event) -> None:
    """Read a stream without parsing it (the throughput phase)."""
    while not stopping.is_set():
        if not await response.content.readany():
            return


async def watch(response: aiohttp.ClientResponse, seen: dict[str, float]) -> None:
    """Note when each event record arrives (the latency phase)."""
    async for line in response.content:
        if line.startswith(b"data: "):
            seen.setdefault(orjson.loads(line[6:])["id"], time.perf_counter())


async def paced(
    session: aiohttp.ClientSession, url: str, rate: float, seconds: float
) -> dict[str, float]:
    """Post ``rate`` events/s for ``seconds``; each event id with the time it was sent."""
    body = body_1kb()
    sent: dict[str, float] = {}
    run = os.urandom(4).hex()

    async def one(n: int) -> None:
        at = time.perf_counter()
        async with session.post(url, data=body, headers=signed(body, f"lat_{run}_{n}")) as answer:
            sent[(await answer.json())["id"]] = at

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return sent


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench_backend(
    storage_url: str, args: argparse.Namespace, folder: Path
) -> dict[str, float]:
    """All three phases against ``hookgate serve`` on ``storage_url``."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
        _, key = await storage.users.create("Bench", f"bench-{os.urandom(4).hex()}@x.io", "admin")
    port = free_port()
    config = folder / f"config-{port}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "storage": {"url": storage_url},
                "redis": {"url": REDIS_URL},
                "security": {"secret_key": SECRET_KEY},
                "api": {"rate_limit_per_s": 0},
                "sources": [
                    {"name": "sw", "verifier": "standard-webhooks", "secrets": [SIGNING_SECRET]}
                ],
            }
        )
    )
    body_path, headers_path = folder / "body.json", folder / "headers.tsv"
    body_path.write_bytes(body_1kb())
    write_signed_headers(headers_path, body_1kb(), int(args.wrk_seconds * 2 * 20_000))
    process = start(
        [sys.executable, "-m", "hookgate", "--config", str(config), "serve"],
        {**os.environ, "HOOKGATE_CONFIG": ""},
    )
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, float] = {}
    try:
        await wait_until_listening(port, process)
        alone = drive(port, args.wrk_seconds, args.connections, headers_path, body_path)
        figures["rps_alone"] = alone["rps"]
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            auth = {"Authorization": f"Bearer {key}"}
            streams = [
                await session.get(f"{base}/api/v1/stream", headers=auth)
                for _ in range(args.clients)
            ]
            stopping = asyncio.Event()
            readers = [asyncio.create_task(drain(s, stopping)) for s in streams]
            write_signed_headers(headers_path, body_1kb(), int(args.wrk_seconds * 20_000))
            loaded = await asyncio.to_thread(
                drive, port, args.wrk_seconds, args.connections, headers_path, body_path
            )
            figures["rps_clients"] = loaded["rps"]
            stopping.set()
            for stream in streams:
                stream.close()
            await asyncio.gather(*readers, return_exceptions=True)

            streams = [
                await session.get(f"{base}/api/v1/stream", headers=auth)
                for _ in range(args.clients)
            ]
            seen: list[dict[str, float]] = [{} for _ in streams]
            watchers = [
                asyncio.create_task(watch(s, m)) for s, m in zip(streams, seen, strict=True)
            ]
            await asyncio.sleep(0.5)
            sent = await paced(session, f"{base}/ingest/sw", args.rate, args.seconds)
            await asyncio.sleep(2.0)
            for stream in streams:
                stream.close()
            await asyncio.gather(*watchers, return_exceptions=True)
        latencies = [
            (arrived[event_id] - at) * 1000
            for arrived in seen
            for event_id, at in sent.items()
            if event_id in arrived
        ]
        figures["missed"] = float(sum(1 for arrived in seen for e in sent if e not in arrived))
        figures["events"] = float(len(sent))
        figures["p50_ms"] = percentile(latencies, 0.50)
        figures["p99_ms"] = percentile(latencies, 0.99)
    finally:
        stop(process)
    return figures


async def main(args: argparse.Namespace) -> None:
    """Print the table: each backend's throughput alone and with clients, and latency."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["sqlite"] = await bench_backend(f"sqlite:///{folder / 'bench.db'}", args, folder)
        async with temporary_database(admin_url) as pg_url:
            results["postgresql"] = await bench_backend(pg_url, args, folder)
    print(
        f"{args.clients} stream clients; wrk -t2 -c{args.connections} -d{args.wrk_seconds}s; "
        f"latency at {args.rate:g} events/s for {args.seconds:g}s"
    )
    columns = ("req/s alone", f"with {args.clients}", "drop", "p50 ms", "p99 ms", "missed")
    print(f"{'backend':<12}" + "".join(f"{name:>13}" for name in columns))
    for backend, r in results.items():
        drop = 1 - r["rps_clients"] / r["rps_alone"]
        cells = (
            f"{r['rps_alone']:,.0f}",
            f"{r['rps_clients']:,.0f}",
            f"{drop:.1%}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['missed']:,.0f}/{r['events'] * args.clients:,.0f}",
        )
        print(f"{backend:<12}" + "".join(f"{cell:>13}" for cell in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--wrk-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    asyncio.run(main(parser.parse_args()))
