"""Delivery: events/s delivered end to end by one worker process, and ingest→delivered
latency at a fixed offered rate, beside arq's own ceiling and a plain aiohttp client.

Everything runs on this machine: a private redis-server, the storage (a temporary
SQLite file, or a temporary PostgreSQL database: HOOKGATE_BENCH_POSTGRES_URL, default
the machine's ``test`` database), a receiver answering 200 in this process, and
``hookgate worker`` as a separate process. Rows:

- **arq no-op ceiling**: no-op jobs/s through one burst worker with the relay's arq
  settings (orjson, ``poll_delay`` 5 ms, ``max_jobs`` 32), jobs pre-enqueued;
- **plain aiohttp client**: POSTs/s of the same body from a separate process to the
  same receiver, one session, 16 in flight (the relay's per-subscription limit);
- **relay throughput**: ``--events`` events pre-stored, one subscription, enqueued as
  ``dispatch_events`` jobs of ``--batch`` ids (the gateway enqueues one job per group
  commit); deliveries/s between the first and the last request the receiver gets;
- **relay latency**: events committed (group commit) and enqueued one by one at
  ``--rate``/s, as the gateway does; latency = arrival at the receiver minus the
  event's ``received_at``, split into the gateway's part (commit + enqueue) and the
  relay's (enqueue to arrival). On SQLite also with the worker in this process sharing
  its storage, as ``hookgate dev`` runs gateway and worker (its logs at warning level).

    python -m bench.delivery [--events 20000] [--batch 50] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from arq.worker import Worker, func

from bench.support import free_port, temporary_database
from core.config import load_config
from core.logs import configure_logging
from core.queue import (
    DISPATCH_EVENTS,
    QUEUE_NAME,
    close_queue,
    connect_queue,
    deserialize,
    serialize,
)
from hookgate.commands import hand_off_gil_quickly
from relay.worker import MAX_JOBS, POLL_DELAY_S, run_worker
from storage import Storage, open_storage
from storage.records import NewEvent, SubscriptionFields

SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
BODY = b'{"type": "invoice.paid", "data": {"object": {"id": "in_1", "pad": "' + b"x" * 900 + b'"}}}'
CONCURRENCY = 16


class Receiver:
    """Answers 200 and notes when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self._expected = 0
        self._complete = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        """Record the arrival; answer 200."""
        await request.read()
        self.arrivals.setdefault(request.headers.get("webhook-id", ""), time.time())
        if len(self.arrivals) >= self._expected:
            self._complete.set()
        return web.Response(status=200)

    async def wait(self, limit_s: float) -> None:
        """Until the expected number of distinct events arrived (at most ``limit_s``)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_s):
                await self._complete.wait()

    def expect(self, count: int) -> None:
        """Start counting afresh towards ``count`` distinct events."""
        self.arrivals.clear()
        self._expected = count
        self._complete.clear()


@contextlib.asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[str]:
    """The receiver on 127.0.0.1; its URL."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A private redis-server; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", ""],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


async def noop(ctx: dict[str, object]) -> None:
    """A job that does nothing."""


async def arq_ceiling(redis_url: str, jobs: int) -> float:
    """No-op jobs/s through one burst worker with the relay's arq settings."""
    queue = connect_queue(redis_url)
    for _ in range(jobs):
        await queue.enqueue_job("noop")
    worker = Worker(
        [func(noop, name="noop")],
        redis_pool=queue,
        queue_name=QUEUE_NAME,
        burst=True,
        handle_signals=False,
        poll_delay=POLL_DELAY_S,
        max_jobs=MAX_JOBS,
        keep_result=0,
        max_tries=1,
        job_serializer=serialize,
        job_deserializer=deserialize,
        log_results=False,
    )
    started = time.perf_counter()
    await worker.main()
    elapsed = time.perf_counter() - started
    await close_queue(queue)
    return jobs / elapsed


async def plain_client(url: str, requests: int) -> None:
    """POST ``requests`` times with CONCURRENCY in flight; print the rate (a subprocess)."""
    async with aiohttp.ClientSession() as session:
        remaining = iter(range(requests))

        async def loop() -> None:
            """POST until the requests run out."""
            for n in remaining:
                headers = {"webhook-id": f"plain-{n}", "content-type": "application/json"}
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        print(requests / (time.perf_counter() - started))


async def plain_client_rate(url: str, requests: int) -> float:
    """Run ``plain_client`` in its own process; its rate."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.delivery",
        "--plain-client",
        url,
        str(requests),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    return float(out.decode().strip().splitlines()[-1])


def new_event(n: int) -> NewEvent:
    """The ``n``-th bench event, received now."""
    return NewEvent(
        source="stripe",
        type="invoice.paid",
        provider_event_id=f"{n}-{secrets.token_hex(6)}",
        headers={"content-type": "application/json"},
        body=BODY,
        received_at=time.time_ns() // 1000,
    )


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``values``."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]


@dataclass
class Backend:
    """One storage backend under test, with its subscription and worker config."""

    name: str
    storage: Storage
    receiver: Receiver
    redis_url: str
    config: Path

    async def start_worker(self) -> asyncio.subprocess.Process:
        """``hookgate worker`` in its own process (logs discarded)."""
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookgate",
            "--config",
            str(self.config),
            "worker",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def throughput(self, events: int, batch: int) -> float:
        """Deliveries/s of pre-stored events by one worker process."""
        ids = await self._store(events)
        queue = connect_queue(self.redis_url)
        for start in range(0, len(ids), batch):
            await queue.enqueue_job(DISPATCH_EVENTS, ids[start : start + batch])
        await close_queue(queue)
        self.receiver.expect(events)
        worker = await self.start_worker()
        await self.receiver.wait(limit_s=600)
        worker.terminate()
        await worker.wait()
        times = sorted(self.receiver.arrivals.values())
        return (len(times) - 1) / (times[-1] - times[0])

    async def _store(self, count: int) -> list[str]:
        """``count`` events stored by 64 concurrent writers (group commit)."""
        ids: list[str] = []

        async def writer(numbers: range) -> None:
            """Store the events numbered in ``numbers``."""
            for n in numbers:
                ids.append((await self.storage.events.store(new_event(n))).id)

        step = max(1, count // 64)
        await asyncio.gather(
            *(writer(range(s, min(count, s + step))) for s in range(0, count, step))
        )
        return ids

    @contextlib.asynccontextmanager
    async def worker(self, in_process: bool) -> AsyncIterator[None]:
        """A worker for the block: its own process, or a task sharing this process's
        storage (as ``hookgate dev`` runs it beside the gateway)."""
        if not in_process:
            process = await self.start_worker()
            await asyncio.sleep(2)  # the worker is up and idle
            yield
            process.terminate()
            await process.wait()
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(load_config(self.config), stop, storage=self.storage))
        await asyncio.sleep(2)
        yield
        stop.set()
        await task

    async def latency(
        self, rate: float, seconds: float, *, in_process: bool = False
    ) -> dict[str, tuple[float, float]]:
        """p50/p99 (ms) at ``rate`` events/s offered: ``total`` from ``received_at`` to
        the receiver, ``ingest`` its gateway part (commit + enqueue), ``relay`` the rest."""
        count = int(rate * seconds)
        self.receiver.expect(count)
        async with self.worker(in_process):
            return await self._offer(rate, count)

    async def _offer(self, rate: float, count: int) -> dict[str, tuple[float, float]]:
        queue = connect_queue(self.redis_url)
        received: dict[str, float] = {}
        enqueued: dict[str, float] = {}

        async def ingest(n: int) -> None:
            """Commit event ``n`` and enqueue its dispatch, as the gateway does."""
            event = new_event(n)
            stored = await self.storage.events.store(event)
            received[stored.id] = event.received_at / 1_000_000
            await queue.enqueue_job(DISPATCH_EVENTS, [stored.id])
            enqueued[stored.id] = time.time()

        started = time.monotonic()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(ingest(n)))
        await asyncio.gather(*tasks)
        await self.receiver.wait(limit_s=60)
        await close_queue(queue)
        arrivals = self.receiver.arrivals
        arrived = [i for i in received if i in arrivals]
        return {
            "total": percentiles([(arrivals[i] - received[i]) * 1000 for i in arrived]),
            "ingest": percentiles([(enqueued[i] - received[i]) * 1000 for i in arrived]),
            "relay": percentiles([(arrivals[i] - enqueued[i]) * 1000 for i in arrived]),
            "delivered": (len(arrived), count),
        }


@contextlib.asynccontextmanager
async def backend(
    name: str, url: str, receiver: Receiver, receiver_url: str, redis_url: str
) -> AsyncIterator[Backend]:
    """Migrated storage at ``url`` with one subscription to the receiver."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(
            f"storage: {{url: '{url}'}}\n"
            f"redis: {{url: '{redis_url}'}}\n"
            f"security: {{secret_key: '{SECRET_KEY}', allowed_target_networks: ['127.0.0.0/8']}}\n"
        )
        async with open_storage(url, SECRET_KEY, pool_size=8) as storage:
            await storage.migrate()
            user, _ = await storage.users.create("Bench", f"bench-{name}@example.com", "member")
            await storage.subscriptions.create(user.id, SubscriptionFields(url=receiver_url))
            yield Backend(name, storage, receiver, redis_url, config)


async def backend_rows(bench: Backend, args: argparse.Namespace) -> None:
    """The relay rows for one storage backend."""
    if args.events:
        rate = await bench.throughput(args.events, args.batch)
        print(f"| relay throughput, {bench.name}, jobs of {args.batch} | {rate:,.0f}/s | |")
    if not args.seconds:
        return
    for in_process in (False, True) if bench.name == "sqlite" else (False,):
        stats = await bench.latency(args.rate, args.seconds, in_process=in_process)
        arrived, offered = stats["delivered"]
        where = "worker in this process" if in_process else "worker process"
        for part, label in (
            ("total", "ingest→delivered"),
            ("ingest", "of which commit + enqueue (gateway side)"),
            ("relay", "of which enqueue→delivered (relay)"),
        ):
            p50, p99 = stats[part]
            print(
                f"| relay latency, {bench.name}, {where}, {args.rate:g}/s offered "
                f"({arrived}/{offered:.0f} delivered): {label} | | "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms |"
            )


async def main(args: argparse.Namespace) -> None:
    """Print the table."""
    configure_logging("warning")  # the in-process worker's per-attempt lines would drown it
    hand_off_gil_quickly()  # as every hookgate command does (SQLite runs on threads)
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as folder, redis_server(Path(folder)) as redis_url:
        async with serve(receiver) as url:
            print("| what | rate | latency |")
            print("|---|---:|---:|")
            ceiling = await arq_ceiling(redis_url, args.noop_jobs)
            print(f"| arq no-op jobs, one burst worker | {ceiling:,.0f}/s | |")
            plain = await plain_client_rate(url, args.events or 5000)
            print(f"| plain aiohttp client, {CONCURRENCY} in flight | {plain:,.0f}/s | |")
            urls = {"sqlite": f"sqlite:///{Path(folder) / 'bench.db'}"}
            async with temporary_database(admin_url) as pg_url:
                urls["postgresql"] = pg_url
                for name, storage_url in urls.items():
                    if args.backend in (name, "both"):
                        async with backend(name, storage_url, receiver, url, redis_url) as bench:
                            await backend_rows(bench, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--noop-jobs", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--plain-client", nargs=2, metavar=("URL", "REQUESTS"))
    arguments = parser.parse_args()
    if arguments.plain_client:
        asyncio.run(plain_client(arguments.plain_client[0], int(arguments.plain_client[1])))
    else:
        asyncio.run(main(arguments))
