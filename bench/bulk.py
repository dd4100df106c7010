"""Bulk retry while ingest keeps answering: a job's items/s, and ingest p99 beside it.

On SQLite and on PostgreSQL: seeds ``--items`` failed deliveries, starts ``hookgate
serve`` (one process) and drives ingest with wrk as ``bench.ingest`` does (2 threads,
``--connections``, signed ~1 KB bodies): once alone (the baseline), once while a bulk
retry of every failed delivery — created through the API, ``POST
/api/v1/deliveries/retry`` — is run by a worker's bulk runner (``relay.bulk``) in
this process, as a separate ``hookgate worker`` would. No worker attempts the
retried deliveries (their ``deliver`` jobs wait in Redis), so the figure is the
job's own cost: marking deliveries due and moving its cursor, batch by batch.

    python -m bench.bulk [--items 100000] [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.ingest import (
    SECRET_KEY,
    body_1kb,
    drive,
    serve_ingest,
    stop,
    write_signed_headers,
)
from bench.support import temporary_database
from core.clock import now_us
from core.ids import new_id
from core.queue import Queue
from relay.bulk import BulkRunner
from storage import Storage, open_storage
from storage.records import SubscriptionFields

REDIS_URL = "redis://127.0.0.1:6379/12"
SEED_BATCH = 5000


async def seed(storage: Storage, items: int) -> str:
    """``items`` events, each with one failed delivery to one subscription; an admin key."""
    admin, key = await storage.users.create("Bench", "bench@example.com", "admin")
    subscription, _ = await storage.subscriptions.create(
        admin.id, SubscriptionFields(url="https://hooks.example.org/in")
    )
    now = now_us()
    for start_at in range(0, items, SEED_BATCH):
        count = min(SEED_BATCH, items - start_at)
        events = [(new_id("evt"), f"seed_{start_at + n}") for n in range(count)]
        async with storage.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO events (id, source, type, provider_event_id, received_at, "
                "headers, body, dispatched_at) VALUES ($1, 'sw', 'invoice.paid', $2, $3, "
                "'{}', $4, $3)",
                [(event_id, provider_id, now, b"{}") for event_id, provider_id in events],
            )
            await tx.executemany(
                "INSERT INTO deliveries (id, event_id, subscription_id, target, status, "
                "attempt_count, created_at, updated_at) VALUES ($1, $2, $3, $4, 'failed', 4, "
                "$5, $5)",
                [
                    (new_id("dlv"), event_id, subscription.id, subscription.fields.url, now)
                    for event_id, _ in events
                ],
            )
    return key


async def create_job(port: int, key: str) -> dict[str, object]:
    """``POST /api/v1/deliveries/retry`` (every failed delivery); the job."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/api/v1/deliveries/retry",
            json={},
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        job: dict[str, object] = await response.json()
        if response.status != 202:
            raise RuntimeError(f"bulk retry answered {response.status}: {job}")
        return job


async def bench_backend(
    storage_url: str, args: argparse.Namespace, files: tuple[Path, Path], folder: Path
) -> dict[str, float]:
    """Ingest alone, then ingest during a bulk retry of ``args.items`` deliveries."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
        key = await seed(storage, args.items)
    process, port = await serve_ingest(storage_url, folder)
    try:
        alone = await asyncio.to_thread(drive, port, args.seconds, args.connections, *files)
        figures = await during_job(storage_url, port, key, args, files)
    finally:
        stop(process)
    return {"alone_p99": alone["p99"], "alone_rps": alone["rps"], **figures}


async def during_job(
    storage_url: str, port: int, key: str, args: argparse.Namespace, files: tuple[Path, Path]
) -> dict[str, float]:
    """Ingest under wrk while the bulk runner runs the job; the job's figures beside it."""
    async with open_storage(storage_url, SECRET_KEY, pool_size=4) as storage:
        queue = Queue.connect(REDIS_URL)
        runner = BulkRunner(storage=storage, queue=queue, handlers=(), poll_interval_s=1)
        load = asyncio.create_task(
            asyncio.to_thread(drive, port, args.seconds, args.connections, *files)
        )
        await asyncio.sleep(0.5)  # wrk is up
        job = await create_job(port, key)
        started = time.perf_counter()
        await runner.run_due()
        took = time.perf_counter() - started
        during = await load
        finished = await storage.jobs.get(str(job["id"]))
        await queue.close()
    return {
        "items": float(finished.done),
        "job_s": took,
        "items_per_s": finished.done / took,
        "during_p99": during["p99"],
        "during_rps": during["rps"],
        "overlap": min(1.0, (args.seconds - 0.5) / took),
    }


async def main(args: argparse.Namespace) -> None:
    """Print the table: each backend's job rate, ingest p99 alone and during the job."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        body_path, headers_path = folder / "body.json", folder / "headers.tsv"
        body = body_1kb()
        body_path.write_bytes(body)
        write_signed_headers(headers_path, body, int(args.seconds * 2 * 40_000))
        files = (headers_path, body_path)
        results["sqlite"] = await bench_backend(
            f"sqlite:///{folder / 'bench.db'}", args, files, folder
        )
        async with temporary_database(admin_url) as pg_url:
            results["postgresql"] = await bench_backend(pg_url, args, files, folder)
    report(results, args)


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """The table, the job's rate beside ingest without and with it."""
    print(
        f"bulk retry of {args.items:,} failed deliveries (batches of 500) during "
        f"wrk -t2 -c{args.connections} -d{args.seconds}s ingest"
    )
    columns = (
        "items",
        "job s",
        "items/s",
        "req/s alone",
        "p99 alone",
        "req/s during",
        "p99 during",
    )
    print(f"{'backend':<12}" + "".join(f"{name:>14}" for name in columns))
    for backend, r in results.items():
        cells = (
            f"{r['items']:,.0f}",
            f"{r['job_s']:.1f}",
            f"{r['items_per_s']:,.0f}",
            f"{r['alone_rps']:,.0f}",
            f"{r['alone_p99']:.2f} ms",
            f"{r['during_rps']:,.0f}",
            f"{r['during_p99']:.2f} ms",
        )
        print(f"{backend:<12}" + "".join(f"{cell:>14}" for cell in cells))
        if r["overlap"] < 1.0:
            print(f"  (the job outlasted wrk: {r['overlap']:.0%} of it ran under load)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
