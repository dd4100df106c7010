"""Subscription stats and the overview over 1,000,000 attempts, on SQLite and PostgreSQL.

Seeds, in bulk SQL (COPY on PostgreSQL, one ``executemany`` transaction on SQLite), N
events over the last 30 days, one delivery each and one attempt each (90 % succeeded,
durations 1-1000 ms) to 10 subscriptions, the busiest holding half of them: a 24 h
window of it is ~N/60 attempts, a 30 d one N/2. Ids carry their creation time, as the
gateway makes them; the event-type catalog is filled from the events, and the hourly
roll-ups from the attempts by the recorder's own tally (``storage.rollups``).

Then ``hookgate serve`` answers, one request at a time, ``GET /subscriptions/{busy}/stats``
and ``GET /stats`` for 24h and 30d windows, beside a trivial authenticated GET
(``/users/me``) in the same run; p50/p99 over ``--requests`` each.

    python -m bench.stats [--attempts 1000000] [--requests 40] [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench.api import start_gateway
from bench.ingest import stop
from bench.support import temporary_database
from core.ids import new_id
from storage import Storage, open_storage
from storage.records import SubscriptionFields
from storage.rollups import LATENCY_COLUMNS, rollup_rows, tally

SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
DAY_US = 86_400_000_000
SPAN_DAYS = 30
SUBSCRIPTIONS = 10
EVENT_COLUMNS = ["id", "source", "type", "provider_event_id", "received_at", "headers", "body"]
DELIVERY_COLUMNS = [
    "id",
    "event_id",
    "subscription_id",
    "target",
    "status",
    "attempt_count",
    "created_at",
    "updated_at",
]
ATTEMPT_COLUMNS = [
    "id",
    "delivery_id",
    "number",
    "started_at",
    "duration_ms",
    "request_headers",
    "response_status",
    "error",
    "subscription_id",
    "succeeded",
]
ROLLUP_COLUMNS = [
    "subscription_key",
    "hour",
    "succeeded",
    "failed",
    "duration_ms_sum",
    *LATENCY_COLUMNS,
    "duration_ms_max",
]
TYPES = ("invoice.paid", "invoice.created", "customer.updated", "charge.failed")


def rows(subscriptions: list[str], n: int, now: int) -> tuple[list[tuple[object, ...]], ...]:
    """Events, deliveries and attempts: ``n`` of each over the last ``SPAN_DAYS``."""
    events, deliveries, attempts = [], [], []
    start = now - SPAN_DAYS * DAY_US
    for i in range(n):
        at = start + (SPAN_DAYS * DAY_US * i) // n
        # Half to the busiest subscription, the rest spread over the others.
        sub = subscriptions[0] if i % 2 == 0 else subscriptions[1 + (i // 2) % 9]
        ok = i % 10 != 0
        event_id, delivery_id = new_id("evt", at // 1000), new_id("dlv", at // 1000)
        source = "stripe" if i % 3 else "github"
        events.append((event_id, source, TYPES[i % 4], f"pe_{i}", at, "{}", b"{}"))
        status = "succeeded" if ok else "failed"
        deliveries.append((delivery_id, event_id, sub, "https://x.example", status, 1, at, at))
        duration = float(1 + (i * 7919) % 1000)
        attempts.append(
            (
                new_id("att", at // 1000),
                delivery_id,
                1,
                at + 1000,
                duration,
                "{}",
                200 if ok else 500,
                None if ok else "http_status",
                sub,
                ok,
            )
        )
    return events, deliveries, attempts


async def seed(storage: Storage, url: str, n: int) -> tuple[str, str]:
    """Fill storage; the operator's API key and the busiest subscription's id."""
    _, key = await storage.users.create("Ops", "ops@example.com", "operator")
    member, _ = await storage.users.create("Team", "team@example.com", "member")
    subscriptions = []
    for number in range(SUBSCRIPTIONS):
        sub, _ = await storage.subscriptions.create(
            member.id, SubscriptionFields(url=f"https://team{number}.example.com/hooks")
        )
        subscriptions.append(sub.id)
    events, deliveries, attempts = rows(subscriptions, n, time.time_ns() // 1000)
    # What the recorder adds batch by batch, tallied at once: the same rows.
    tallied = tally((a[8], a[3], a[9], a[4]) for a in attempts)
    rollups = rollup_rows(tallied)
    catalog = (
        "INSERT INTO event_types (source, type, count, last_seen_at) "
        "SELECT source, type, COUNT(*), MAX(received_at) FROM events GROUP BY source, type"
    )
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path, isolation_level=None) as conn:
            conn.execute("BEGIN")
            for table, columns, batch in (
                ("events", EVENT_COLUMNS, events),
                ("deliveries", DELIVERY_COLUMNS, deliveries),
                ("attempts", ATTEMPT_COLUMNS, attempts),
                ("attempt_rollups", ROLLUP_COLUMNS, rollups),
            ):
                marks = ", ".join("?" for _ in columns)
                insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (this module's constants)
                conn.executemany(insert, batch)
            conn.execute(catalog)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
    else:
        conn = await asyncpg.connect(url)
        try:
            await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "deliveries", records=deliveries, columns=DELIVERY_COLUMNS
            )
            await conn.copy_records_to_table("attempts", records=attempts, columns=ATTEMPT_COLUMNS)
            await conn.copy_records_to_table(
                "attempt_rollups", records=rollups, columns=ROLLUP_COLUMNS
            )
            await conn.execute(catalog)
            # What autovacuum does soon after a load: the visibility map lets the covering
            # indexes answer without visiting the table.
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    return key, subscriptions[0]


async def timed(port: int, key: str, path: str, requests: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``requests`` sequential GETs of ``path`` (after a warm-up)."""
    headers = {"Authorization": f"Bearer {key}"}
    url = f"http://127.0.0.1:{port}/api/v1{path}"
    times = []
    async with aiohttp.ClientSession() as session:
        for number in range(requests + 3):
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status}")
            if number >= 3:
                times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


async def measure(name: str, url: str, n: int, requests: int, folder: Path) -> None:
    """Seed ``url`` and print one table row per scenario."""
    async with open_storage(url, SECRET_KEY) as storage:
        await storage.migrate()
        started = time.perf_counter()
        key, busy = await seed(storage, url, n)
        print(f"{name}: seeded {n:,} attempts in {time.perf_counter() - started:.0f} s")
    process, port = await start_gateway(url, folder)
    try:
        scenarios = {
            "GET /users/me (baseline)": "/users/me",
            "GET /subscriptions/{busy}/stats?window=24h": f"/subscriptions/{busy}/stats?window=24h",
            "GET /stats?window=24h": "/stats?window=24h",
            "GET /event-types": "/event-types",
            "GET /subscriptions/{busy}/stats?window=30d": f"/subscriptions/{busy}/stats?window=30d",
            "GET /stats?window=30d": "/stats?window=30d",
        }
        for label, path in scenarios.items():
            p50, p99 = await timed(port, key, path, requests)
            print(f"| {name} | {label} | {p50:.1f} | {p99:.1f} |")
    finally:
        stop(process)


async def main(args: argparse.Namespace) -> None:
    """Run each chosen backend."""
    print("| backend | request | p50 ms | p99 ms |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("both", "sqlite"):
            url = f"sqlite:///{folder}/stats.db"
            await measure("SQLite", url, args.attempts, args.requests, Path(folder))
        if args.backend in ("both", "postgresql"):
            admin_url = os.environ.get(
                "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
            )
            async with temporary_database(admin_url, "hookgate_bench_stats") as url:
                await measure("PostgreSQL", url, args.attempts, args.requests, Path(folder))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    asyncio.run(main(parser.parse_args()))
