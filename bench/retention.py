"""Retention: the purge's rate, and what it costs ingest while it runs.

On SQLite and on PostgreSQL: seeds ``--rows`` old rows in bulk (events 40 days old,
each with one finished delivery and one attempt: a third of the rows each), starts
``hookgate serve``, drives ingest with wrk (as ``bench.ingest``: pre-signed ~1 KB
bodies) once without a purge (the baseline) and once while a purge runs — the
relay's ``Purger``, as a worker runs it, in this process (another process than the
gateway, as in production). Reports ingest p50/p99 both ways and the purge's rows/s
(during the loaded window and overall).

    python -m bench.retention [--rows 1000000] [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.ingest import (
    SECRET_KEY,
    body_1kb,
    drive,
    serve_ingest,
    stop,
    write_signed_headers,
)
from bench.support import free_port, temporary_database
from core.clock import now_us
from core.config import RetentionConfig
from core.ids import new_id
from relay.metrics import RelayMetrics
from relay.retention import BATCH_SIZE, Purger
from storage import open_storage
from storage.retention import Purged

DAY_US = 86_400_000_000
KINDS = ("events", "deliveries", "attempts")


def old_rows(events: int) -> tuple[list[tuple[object, ...]], ...]:
    """``events`` old events, each with one succeeded delivery and one attempt."""
    at = now_us() - 40 * DAY_US
    event_rows, delivery_rows, attempt_rows = [], [], []
    for n in range(events):
        when = at + n  # one µs apart: ids of the same few milliseconds, random tails
        event_id = new_id("evt", when // 1000)
        delivery_id = new_id("dlv", when // 1000)
        event_rows.append((event_id, "sw", "invoice.paid", f"old-{n}", when, "{}", b"{}", when))
        delivery_rows.append((delivery_id, event_id, "handler:h", "succeeded", 1, when, when))
        attempt_rows.append((new_id("att", when // 1000), delivery_id, 1, when, 1.0, "{}"))
    return event_rows, delivery_rows, attempt_rows


EVENT_COLUMNS = (
    "id",
    "source",
    "type",
    "provider_event_id",
    "received_at",
    "headers",
    "body",
    "dispatched_at",
)
DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "target",
    "status",
    "attempt_count",
    "created_at",
    "updated_at",
)
ATTEMPT_COLUMNS = ("id", "delivery_id", "number", "started_at", "duration_ms", "request_headers")
TABLES = (
    ("events", EVENT_COLUMNS),
    ("deliveries", DELIVERY_COLUMNS),
    ("attempts", ATTEMPT_COLUMNS),
)


def seed_sqlite(path: Path, events: int) -> None:
    """Bulk-insert the old rows in one transaction."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            for (table, columns), rows in zip(TABLES, old_rows(events), strict=True):
                marks = ", ".join("?" for _ in columns)
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 - module constants
                    rows,
                )
    finally:
        conn.close()


async def seed_postgres(url: str, events: int) -> None:
    """COPY the old rows in."""
    conn = await asyncpg.connect(url)
    try:
        for (table, columns), rows in zip(TABLES, old_rows(events), strict=True):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def purged_so_far(metrics: RelayMetrics) -> float:
    """Rows the purger has deleted so far, every kind."""
    registry = metrics.registry
    return sum(
        registry.get_sample_value("hookgate_purged_total", {"kind": kind}) or 0.0 for kind in KINDS
    )


async def bench_backend(
    storage_url: str, args: argparse.Namespace, folder: Path
) -> dict[str, float]:
    """Seed, then ingest without and with a purge running; the figures."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
    events = args.rows // 3
    began = time.perf_counter()
    if storage_url.startswith("sqlite"):
        await asyncio.to_thread(seed_sqlite, Path(storage_url.removeprefix("sqlite:///")), events)
    else:
        await seed_postgres(storage_url, events)
    seeded_s = time.perf_counter() - began
    body = body_1kb()
    files = (folder / f"headers-{os.getpid()}-{free_port()}.tsv", folder / "body.json")
    files[1].write_bytes(body)
    write_signed_headers(files[0], body, int(args.seconds * 2 * 40_000))
    server, port = await serve_ingest(storage_url, folder)
    try:
        baseline = await asyncio.to_thread(drive, port, args.seconds, args.connections, *files)
        figures = await purge_under_load(storage_url, port, args, files)
    finally:
        stop(server)
    return {
        "seeded_rows": events * 3.0,
        "seed_s": seeded_s,
        "base_rps": baseline["rps"],
        "base_p50": baseline["p50"],
        "base_p99": baseline["p99"],
        **figures,
    }


async def purge_under_load(
    storage_url: str, port: int, args: argparse.Namespace, files: tuple[Path, Path]
) -> dict[str, float]:
    """Start a purge, drive ingest while it runs, let it finish; its figures."""
    metrics = RelayMetrics()
    async with open_storage(storage_url, SECRET_KEY) as storage:
        purger = Purger(
            storage=storage,
            config=RetentionConfig(events_s=30 * 86400.0, attempts_s=30 * 86400.0),
            metrics=metrics,
            batch_size=args.batch_size,
        )
        began = time.perf_counter()
        purge = asyncio.create_task(purger.purge())
        await asyncio.sleep(0.2)
        window_start, rows_start = time.perf_counter(), purged_so_far(metrics)
        loaded = await asyncio.to_thread(drive, port, args.seconds, args.connections, *files)
        window_s, rows_window = (
            time.perf_counter() - window_start,
            purged_so_far(metrics) - rows_start,
        )
        result = await purge
        total_s = time.perf_counter() - began
    purged = result or Purged()
    return {
        "load_rps": loaded["rps"],
        "load_p50": loaded["p50"],
        "load_p99": loaded["p99"],
        "load_non_2xx": loaded["non_2xx"],
        "purge_rows_per_s_loaded": rows_window / window_s,
        "purged_rows": float(purged.rows),
        "purge_s": total_s,
        "purge_outlasted_load": float(total_s > window_s + 0.2),
    }


async def main(args: argparse.Namespace) -> None:
    """Print the retention table for both backends."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["sqlite"] = await bench_backend(f"sqlite:///{folder / 'bench.db'}", args, folder)
        async with temporary_database(admin_url) as pg_url:
            results["postgresql"] = await bench_backend(pg_url, args, folder)
    report(results, args)


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """Ingest without and during the purge, and the purge's rate."""
    print(
        f"{args.rows:,} old rows (events + deliveries + attempts), purge batch {args.batch_size}"
        f" events; wrk -t2 -c{args.connections} -d{args.seconds}s on /ingest"
    )
    columns = (
        "req/s", "p50 ms", "p99 ms",
        "req/s purging", "p50 purging", "p99 purging", "non-2xx",
        "rows/s loaded", "rows/s all", "purged", "outlasted",
    )  # fmt: skip
    print(f"{'backend':<11}" + "".join(f"{name:>14}" for name in columns))
    for backend, r in results.items():
        cells = (
            f"{r['base_rps']:,.0f}",
            f"{r['base_p50']:.2f}",
            f"{r['base_p99']:.2f}",
            f"{r['load_rps']:,.0f}",
            f"{r['load_p50']:.2f}",
            f"{r['load_p99']:.2f}",
            f"{r['load_non_2xx']:,.0f}",
            f"{r['purge_rows_per_s_loaded']:,.0f}",
            f"{r['purged_rows'] / r['purge_s']:,.0f}",
            f"{r['purged_rows']:,.0f}",
            "yes" if r["purge_outlasted_load"] else "no",
        )
        print(f"{backend:<11}" + "".join(f"{cell:>14}" for cell in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    asyncio.run(main(parser.parse_args()))
