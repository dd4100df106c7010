"""The live stream under load: 100 clients, each seeing every event, and what they cost.

Starts ``hookgate serve`` (one process) on SQLite and on PostgreSQL, with Redis, then:

1. ingest throughput with no stream open (wrk, as ``bench.ingest``: signed ~1 KB
   bodies, distinct ids);
2. the same with ``--clients`` streams open and reading (the baseline, same run);
3. ``--rate`` events/s paced from this process for ``--seconds`` while the clients read:
   ingest→seen latency (from sending the request to a client reading the record),
   p50/p99 over every (client, event), and whether each client saw every event.

The clients run in a process of their own, so that reading them does not slow the
pacing of ingest nor count as the gateway's latency: at 100 clients and 500 events/s
they read 50,000 records/s, which parsed line by line in this process took a core and
measured the bench's own backlog (p50 ~1 s). ``--full`` of them parse every record
(JSON decoded, fields checked); the others find each event's id in what they read with
one regular expression per chunk, timestamped at the chunk's arrival. Times are
``time.monotonic()``, one system-wide clock on Linux, so the two processes agree.

    python -m bench.stream [--clients 100] [--full 5] [--rate 500] [--seconds 5]
                           [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import multiprocessing
import os
import re
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import orjson

from bench.ingest import (
    SECRET_KEY,
    SIGNING_SECRET,
    body_1kb,
    drive,
    serve_ingest,
    stop,
    write_signed_headers,
)
from bench.support import temporary_database
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


# An event record's id, as the gateway renders it (``data: {"id":...``).
EVENT_ID = re.compile(rb'event: event\ndata: \{"id":"([^"]+)"')
FIELDS = ("id", "source", "type", "received_at", "provider_event_id")


async def drain(response: aiohttp.ClientResponse, seen: dict[str, float]) -> None:
    """Read a stream without looking at it (the throughput phase)."""
    while await response.content.readany():
        pass


async def stamp(response: aiohttp.ClientResponse, seen: dict[str, float]) -> None:
    """Note each event id in the stream with when its chunk arrived (no parsing)."""
    rest = b""
    while chunk := await response.content.readany():
        at = time.monotonic()
        complete, _, rest = (rest + chunk).rpartition(b"\n\n")
        for event_id in EVENT_ID.findall(complete):
            seen.setdefault(event_id.decode(), at)


async def parse(response: aiohttp.ClientResponse, seen: dict[str, float]) -> None:
    """Note each event's id with when its record was read, every record decoded and
    its fields checked (a client as a program writes one)."""
    async for line in response.content:
        if line.startswith(b"data: "):
            data = orjson.loads(line[6:])
            if "delivery_id" not in data:
                assert tuple(data) == FIELDS, data
                seen.setdefault(data["id"], time.monotonic())


def run_clients(url: str, key: str, count: int, full: int, conn: Connection) -> None:
    """In a process of its own: open ``count`` streams (``full`` of them parsing), say
    ``ready``, read until told to stop, then send what each saw (id → arrival)."""
    asyncio.run(_clients(url, key, count, full, conn))


async def _clients(url: str, key: str, count: int, full: int, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    told = asyncio.Event()
    loop.add_reader(conn.fileno(), told.set)
    mode = conn.recv()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        auth = {"Authorization": f"Bearer {key}"}
        streams = [await session.get(url, headers=auth) for _ in range(count)]
        seen: list[dict[str, float]] = [{} for _ in streams]
        read = {"drain": drain, "watch": stamp}[mode]
        readers = [
            asyncio.create_task((parse if n < full and mode == "watch" else read)(s, m))
            for n, (s, m) in enumerate(zip(streams, seen, strict=True))
        ]
        conn.send("ready")
        await told.wait()
        loop.remove_reader(conn.fileno())
        conn.recv()
        for stream in streams:
            stream.close()
        await asyncio.gather(*readers, return_exceptions=True)
    conn.send(seen)


class Clients:
    """The stream clients' process, driven from the bench."""

    def __init__(self, url: str, key: str, count: int, full: int) -> None:
        self._conn, theirs = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=run_clients, args=(url, key, count, full, theirs), daemon=True
        )
        self._process.start()

    async def open(self, mode: str) -> None:
        """Open every stream, to ``drain`` or to ``watch``; return once they are open."""
        self._conn.send(mode)
        assert "ready" == await asyncio.to_thread(self._conn.recv)

    async def close(self) -> list[dict[str, float]]:
        """Close the streams; what each saw."""
        self._conn.send("stop")
        seen: list[dict[str, float]] = await asyncio.to_thread(self._conn.recv)
        await asyncio.to_thread(self._process.join, 10)
        return seen


async def paced(
    session: aiohttp.ClientSession, url: str, rate: float, seconds: float
) -> dict[str, float]:
    """Post ``rate`` events/s for ``seconds``; each event id with the time it was sent."""
    body = body_1kb()
    sent: dict[str, float] = {}
    run = os.urandom(4).hex()

    async def one(n: int) -> None:
        at = time.monotonic()
        async with session.post(url, data=body, headers=signed(body, f"lat_{run}_{n}")) as answer:
            sent[(await answer.json())["id"]] = at

    tasks = []
    begin = time.monotonic()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + n / rate - time.monotonic()))
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
    body_path, headers_path = folder / "body.json", folder / "headers.tsv"
    body_path.write_bytes(body_1kb())
    write_signed_headers(headers_path, body_1kb(), int(args.wrk_seconds * 2 * 20_000))
    process, port = await serve_ingest(storage_url, folder, api={"rate_limit_per_s": 0})
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, float] = {}
    try:
        alone = drive(port, args.wrk_seconds, args.connections, headers_path, body_path)
        figures["rps_alone"] = alone["rps"]
        stream_url = f"{base}/api/v1/stream"
        clients = Clients(stream_url, key, args.clients, 0)
        await clients.open("drain")
        write_signed_headers(headers_path, body_1kb(), int(args.wrk_seconds * 20_000))
        loaded = await asyncio.to_thread(
            drive, port, args.wrk_seconds, args.connections, headers_path, body_path
        )
        figures["rps_clients"] = loaded["rps"]
        await clients.close()

        clients = Clients(stream_url, key, args.clients, args.full)
        await clients.open("watch")
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            sent = await paced(session, f"{base}/ingest/sw", args.rate, args.seconds)
        await asyncio.sleep(2.0)
        seen = await clients.close()
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
        if "sqlite" in args.backends:
            sqlite_url = f"sqlite:///{folder / 'bench.db'}"
            results["sqlite"] = await bench_backend(sqlite_url, args, folder)
        if "postgresql" in args.backends:
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
    parser.add_argument("--full", type=int, default=5, help="clients that parse every record")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--wrk-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--backends", type=lambda text: text.split(","), default=["sqlite", "postgresql"]
    )
    asyncio.run(main(parser.parse_args()))
