"""Durable event inserts/s through group commit, at 1, 16 and 64 concurrent writers.

Runs on SQLite (a temporary file, WAL, synchronous=FULL) and on PostgreSQL (a
temporary database; HOOKGATE_BENCH_POSTGRES_URL, default the machine's ``test``
database). Each writer stores ~1 KB events with distinct provider ids in a loop for
a fixed time; every insert counted was committed before its writer was released.

    python -m bench.storage [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path

from bench.support import temporary_database
from storage import open_storage
from storage.records import NewEvent

SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
BODY = b'{"type": "invoice.paid", "data": {"object": {"id": "in_1", "pad": "' + b"x" * 900 + b'"}}}'
HEADERS = {"content-type": "application/json", "stripe-signature": "t=1,v1=" + "a" * 64}


async def run_writers(url: str, writers: int, seconds: float) -> tuple[int, float]:
    """Inserts committed by ``writers`` concurrent loops in ``seconds``; (count, p99 ms)."""
    latencies: list[float] = []
    async with open_storage(url, SECRET_KEY, pool_size=4) as storage:
        await storage.migrate()
        deadline = time.perf_counter() + seconds

        async def writer(number: int) -> None:
            sequence = 0
            while time.perf_counter() < deadline:
                sequence += 1
                started = time.perf_counter()
                await storage.events.store(
                    NewEvent(
                        source="stripe",
                        type="invoice.paid",
                        provider_event_id=f"w{writers}-{number}-{sequence}-{secrets.token_hex(4)}",
                        headers=HEADERS,
                        body=BODY,
                        received_at=time.time_ns() // 1000,
                    )
                )
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(writer(n) for n in range(writers)))
    latencies.sort()
    return len(latencies), latencies[int(len(latencies) * 0.99)] * 1000


async def main(seconds: float) -> None:
    """Print a table of inserts/s per backend and writer count."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    async with temporary_database(admin_url) as pg_url:
        with tempfile.TemporaryDirectory() as folder:
            backends = {"sqlite": f"sqlite:///{Path(folder) / 'bench.db'}", "postgresql": pg_url}
            print(f"{'backend':<12}{'writers':>8}{'inserts/s':>12}{'p99 ms':>10}")
            for backend, url in backends.items():
                for writers in (1, 16, 64):
                    count, p99 = await run_writers(url, writers, seconds)
                    print(f"{backend:<12}{writers:>8}{count / seconds:>12,.0f}{p99:>10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    asyncio.run(main(parser.parse_args().seconds))
