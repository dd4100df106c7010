"""The console's pages rendered over 1,000,000 events and 3,000,000 attempts, on SQLite
and PostgreSQL.

Seeds, in bulk SQL (COPY on PostgreSQL, ``executemany`` in one transaction on SQLite),
N events over the last 30 days with one delivery each to 10 subscriptions (the busiest
holding half) and three attempts per delivery (two failures, then 90 % succeeded).
Then ``hookgate serve`` renders, one request at a time with a signed-in operator's
session cookie, every main page of the console beside ``GET /healthz`` (the baseline)
in the same run: p50/p99 in ms over ``--requests`` each. The target is 100 ms a page.

    python -m bench.console [--events 1000000] [--attempts 3000000] [--requests 30]
        [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg

from bench.api import start_gateway
from bench.ingest import stop
from bench.stats import (
    ATTEMPT_COLUMNS,
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    ROLLUP_COLUMNS,
    SECRET_KEY,
    TYPES,
)
from bench.support import temporary_database
from core.ids import new_id
from storage import Storage, open_storage
from storage.records import SubscriptionFields
from storage.rollups import Tally, rollup_rows, tally

DAY_US = 86_400_000_000
SPAN_DAYS = 30
SUBSCRIPTIONS = 10
CHUNK = 50_000
Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]


def chunks(subscriptions: list[str], events: int, attempts: int, now: int) -> Iterator[Rows]:
    """Events, their deliveries and ``attempts / events`` attempts each, ``CHUNK`` events
    at a time, spread over the last ``SPAN_DAYS`` in id (time) order."""
    per = max(1, attempts // events)
    start = now - SPAN_DAYS * DAY_US
    for first in range(0, events, CHUNK):
        batch: Rows = ([], [], [])
        for i in range(first, min(events, first + CHUNK)):
            at = start + (SPAN_DAYS * DAY_US * i) // events
            sub = subscriptions[0] if i % 2 == 0 else subscriptions[1 + (i // 2) % 9]
            ok = i % 10 != 0
            event_id, delivery_id = new_id("evt", at // 1000), new_id("dlv", at // 1000)
            source = "stripe" if i % 3 else "github"
            batch[0].append((event_id, source, TYPES[i % 4], f"pe_{i}", at, "{}", b'{"n": 1}'))
            status = "succeeded" if ok else "failed"
            batch[1].append((delivery_id, event_id, sub, "https://x.example", status, per, at, at))
            for number in range(1, per + 1):
                last_ok = ok and number == per
                began = at + number * 1000
                batch[2].append(
                    (
                        new_id("att", began // 1000),
                        delivery_id,
                        number,
                        began,
                        float(1 + (i * 7919 + number) % 1000),
                        "{}",
                        200 if last_ok else 500,
                        None if last_ok else "http_status",
                        sub,
                        last_ok,
                    )
                )
        yield batch


async def seed(storage: Storage, url: str, events: int, attempts: int) -> dict[str, str]:
    """Fill storage; the operator's API key and the ids the pages are opened with."""
    _, key = await storage.users.create("Ops", "ops@example.com", "operator")
    member, _ = await storage.users.create("Team", "team@example.com", "member")
    subscriptions = []
    for number in range(SUBSCRIPTIONS):
        sub, _ = await storage.subscriptions.create(
            member.id, SubscriptionFields(url=f"https://team{number}.example.com/hooks")
        )
        subscriptions.append(sub.id)
    tables = (
        ("events", EVENT_COLUMNS),
        ("deliveries", DELIVERY_COLUMNS),
        ("attempts", ATTEMPT_COLUMNS),
    )
    # What the recorder adds batch by batch (hourly roll-ups), added up as the chunks go.
    tallies: dict[tuple[str, int], Tally] = {}
    catalog = (
        "INSERT INTO event_types (source, type, count, last_seen_at) "
        "SELECT source, type, COUNT(*), MAX(received_at) FROM events GROUP BY source, type"
    )
    last: Rows = ([], [], [])
    made = chunks(subscriptions, events, attempts, time.time_ns() // 1000)
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None) as conn:
            conn.execute("BEGIN")
            for last in made:
                tally(((a[8], a[3], a[9], a[4]) for a in last[2]), into=tallies)
                for (table, columns), batch in zip(tables, last, strict=True):
                    marks = ", ".join("?" for _ in columns)
                    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (this module's constants)
                    conn.executemany(insert, batch)
            marks = ", ".join("?" for _ in ROLLUP_COLUMNS)
            conn.executemany(
                f"INSERT INTO attempt_rollups ({', '.join(ROLLUP_COLUMNS)}) VALUES ({marks})",  # noqa: S608 (this module's constants)
                rollup_rows(tallies),
            )
            conn.execute(catalog)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
    else:
        pg = await asyncpg.connect(url)
        try:
            for last in made:
                tally(((a[8], a[3], a[9], a[4]) for a in last[2]), into=tallies)
                for (table, columns), batch in zip(tables, last, strict=True):
                    await pg.copy_records_to_table(table, records=batch, columns=columns)
            await pg.copy_records_to_table(
                "attempt_rollups", records=rollup_rows(tallies), columns=ROLLUP_COLUMNS
            )
            await pg.execute(catalog)
            await pg.execute("VACUUM ANALYZE")
        finally:
            await pg.close()
    return {
        "key": key,
        "busy": subscriptions[0],
        "event": str(last[0][-1][0]),
        "delivery": str(last[1][-1][0]),
    }


async def timed(session: aiohttp.ClientSession, url: str, requests: int) -> tuple[float, float]:
    """p50 and p99 in ms of ``requests`` sequential GETs of ``url`` (after a warm-up)."""
    times = []
    for number in range(requests + 3):
        started = time.perf_counter()
        async with session.get(url, allow_redirects=False) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{url}: {response.status}")
        if number >= 3:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def pages(ids: dict[str, str]) -> dict[str, str]:
    """Each page timed, by label: the baseline first."""
    busy = ids["busy"]
    return {
        "GET /healthz (baseline)": "/healthz",
        "overview": "/console/",
        "events": "/console/events",
        "events, filtered": "/console/events?source=stripe&type=invoice.paid",
        "one event": f"/console/events/{ids['event']}",
        "deliveries, filtered": f"/console/deliveries?status=failed&subscription_id={busy}",
        "one delivery": f"/console/deliveries/{ids['delivery']}",
        "subscriptions": "/console/subscriptions",
        "one subscription": f"/console/subscriptions/{busy}",
        "live": "/console/live",
    }


async def measure(name: str, url: str, args: argparse.Namespace, folder: Path) -> None:
    """Seed ``url``, sign in and print one table row per page."""
    async with open_storage(url, SECRET_KEY) as storage:
        await storage.migrate()
        started = time.perf_counter()
        ids = await seed(storage, url, args.events, args.attempts)
        print(
            f"{name}: seeded {args.events:,} events, {args.attempts:,} attempts "
            f"in {time.perf_counter() - started:.0f} s"
        )
    process, port = await start_gateway(url, folder)
    base = f"http://127.0.0.1:{port}"
    try:
        jar = aiohttp.CookieJar(unsafe=True)  # the gateway is at an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            form = {"api_key": ids["key"]}
            async with session.post(f"{base}/console/login", data=form, allow_redirects=False):
                pass
            for label, path in pages(ids).items():
                p50, p99 = await timed(session, base + path, args.requests)
                print(f"| {name} | {label} | {p50:.1f} | {p99:.1f} |")
    finally:
        stop(process)


async def main(args: argparse.Namespace) -> None:
    """Run each chosen backend."""
    print("| backend | page | p50 ms | p99 ms |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("both", "sqlite"):
            await measure("SQLite", f"sqlite:///{folder}/console.db", args, Path(folder))
        if args.backend in ("both", "postgresql"):
            admin_url = os.environ.get(
                "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
            )
            async with temporary_database(admin_url, "hookgate_bench_console") as url:
                await measure("PostgreSQL", url, args, Path(folder))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    asyncio.run(main(parser.parse_args()))
