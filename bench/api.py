"""List-deliveries requests/s and p99 at page size 50 over 1,000,000 stored deliveries.

In a fresh PostgreSQL database (HOOKGATE_BENCH_POSTGRES_URL, default the machine's
``test`` server; dropped afterwards), bulk-loads events and deliveries with COPY:
250,000 events over 30 days, four deliveries each to 200 subscriptions (skewed: a few
busy endpoints, many quiet ones; 10 % to handlers), 90 % succeeded, 7 % failed, 2 %
pending, 1 % cancelled. Ids carry their creation time, as the gateway makes them.

Then ``hookgate serve`` answers ``GET /api/v1/deliveries?limit=50`` under wrk, one
scenario per filter (each from many distinct URLs, rotating over 100 API keys so the
per-key rate limit stays out of the way), beside a bare aiohttp handler answering a
pre-rendered page of the same size in the same run. Last, the query plan of each
scenario's SQL (EXPLAIN ANALYZE) shows which index it uses.

Two event-list scenarios follow (a member's ``GET /api/v1/events``): a member sees the
events behind its deliveries, a query that still walks the events newest first for a
member whose endpoints are quiet (see docs/api.md).

    python -m bench.api [--seconds 5] [--connections 8] [--deliveries 1000000]
                        [--dsn-suffix "?plan_cache_mode=force_custom_plan"]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp
import asyncpg
import orjson
import yaml
from aiohttp import web

from bench.ingest import start, stop, wait_until_listening
from bench.support import free_port, run_wrk, temporary_database
from core.ids import new_id
from storage import Storage, open_storage
from storage.database import POSTGRESQL
from storage.deliveries import Deliveries
from storage.events import Events
from storage.query import encode_cursor
from storage.records import SubscriptionFields

SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
REDIS_URL = "redis://127.0.0.1:6379/12"
LUA = Path(__file__).with_name("api.lua")
DAY_US = 86_400 * 1_000_000
SPAN_DAYS = 30
SUBSCRIPTIONS = 200
KEYS = 100
STATUSES = (("succeeded", 0.90), ("failed", 0.07), ("pending", 0.02), ("cancelled", 0.01))
PAGE = 50


def rfc3339(micros: int) -> str:
    """``micros`` as RFC 3339 UTC."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC).isoformat().replace("+00:00", "Z")


class Fixture:
    """What the load put in the database, for building URLs."""

    def __init__(self) -> None:
        self.operator_keys: list[str] = []
        self.member_keys: dict[str, list[str]] = {}
        self.subscriptions: list[str] = []
        self.quiet_subscription = ""
        self.busy_member = ""
        self.quiet_member = ""
        self.event_ids: list[str] = []
        self.now = 0
        self.sample_ids: list[str] = []


async def load(storage: Storage, url: str, deliveries: int) -> Fixture:
    """Users, keys and subscriptions through storage; events and deliveries by COPY."""
    fixture = Fixture()
    rng = random.Random(7)
    operator, _ = await storage.users.create("Ops", "ops@example.com", "operator")
    fixture.operator_keys = [await storage.users.create_key(operator.id) for _ in range(KEYS)]
    owners = []
    for number in range(20):
        member, _ = await storage.users.create(
            f"Team {number}", f"team{number}@example.com", "member"
        )
        owners.append(member.id)
        # The two members the bench calls as get as many keys as the operator.
        count = KEYS if number in (0, 19) else 1
        fixture.member_keys[member.id] = [
            await storage.users.create_key(member.id) for _ in range(count)
        ]
    for number in range(SUBSCRIPTIONS):
        # Team 0 owns the busiest endpoints; team 19 owns one quiet endpoint alone.
        owner = (
            owners[0]
            if number < 10
            else owners[19]
            if number == SUBSCRIPTIONS - 1
            else owners[1 + number % 18]
        )
        subscription, _ = await storage.subscriptions.create(
            owner, SubscriptionFields(url=f"https://team{number}.example.com/hooks")
        )
        fixture.subscriptions.append(subscription.id)
    fixture.quiet_subscription = fixture.subscriptions[-1]
    fixture.busy_member, fixture.quiet_member = owners[0], owners[19]
    # Zipf-like weights: subscription i is chosen with weight 1/(i+1); the quiet one rarely.
    weights = [1 / (i + 1) for i in range(SUBSCRIPTIONS - 1)] + [0.002]
    fixture.now = time.time_ns() // 1000
    start = fixture.now - SPAN_DAYS * DAY_US
    events, rows = [], []
    status_names = [name for name, _ in STATUSES]
    status_weights = [share for _, share in STATUSES]
    event_count = deliveries // 4
    for n in range(event_count):
        received = start + (SPAN_DAYS * DAY_US * n) // event_count
        event_id = new_id("evt", received // 1000)
        events.append(
            (event_id, "stripe", "invoice.paid", f"pe_{n}", received, "{}", b"{}", received)
        )
        targets = rng.choices(range(SUBSCRIPTIONS), weights, k=4)
        for slot, target in enumerate(targets):
            created = received + 1000 * (slot + 1)
            status = rng.choices(status_names, status_weights)[0]
            handler = rng.random() < 0.1
            rows.append(
                (
                    new_id("dlv", created // 1000),
                    event_id,
                    None if handler else fixture.subscriptions[target],
                    "handler:audit" if handler else f"https://team{target}.example.com/hooks",
                    status,
                    0 if status == "pending" else 1,
                    created + 60_000_000 if status == "pending" else None,
                    None,
                    None if status == "pending" else (200 if status == "succeeded" else 500),
                    created,
                    created,
                )
            )
    fixture.event_ids = [event[0] for event in rng.sample(events, 200)]
    fixture.sample_ids = [row[0] for row in rng.sample(rows, 200)]
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "events",
            records=events,
            columns=[
                "id",
                "source",
                "type",
                "provider_event_id",
                "received_at",
                "headers",
                "body",
                "dispatched_at",
            ],
        )
        await conn.copy_records_to_table(
            "deliveries",
            records=rows,
            columns=[
                "id",
                "event_id",
                "subscription_id",
                "target",
                "status",
                "attempt_count",
                "next_attempt_at",
                "lease_until",
                "last_status_code",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return fixture


def scenarios(fixture: Fixture) -> dict[str, tuple[list[str], list[str]]]:
    """Scenario name → (API keys, URL paths), each path a page of 50."""
    rng = random.Random(11)
    hour = 3_600_000_000

    def paths(queries: Sequence[dict[str, str]]) -> list[str]:
        return [
            f"/api/v1/deliveries?{urlencode({'limit': str(PAGE), **query})}" for query in queries
        ]

    cursors = [_cursor(delivery_id) for delivery_id in fixture.sample_ids]
    ops = fixture.operator_keys
    return {
        "newest page": (ops, paths([{}])),
        "deep page (cursor)": (ops, paths([{"cursor": c} for c in cursors])),
        "status=failed": (ops, paths([{"status": "failed"}])),
        "status=pending, cursor": (
            ops,
            paths([{"status": "pending", "cursor": c} for c in cursors]),
        ),
        "subscription_id (any)": (
            ops,
            paths([{"subscription_id": s} for s in fixture.subscriptions]),
        ),
        "subscription_id + status": (
            ops,
            paths([{"subscription_id": s, "status": "failed"} for s in fixture.subscriptions]),
        ),
        "event_id": (ops, paths([{"event_id": e} for e in fixture.event_ids])),
        "since (last hour)": (ops, paths([{"since": rfc3339(fixture.now - hour)}])),
        "until (random day)": (
            ops,
            paths(
                [
                    {"until": rfc3339(fixture.now - rng.randrange(1, SPAN_DAYS) * DAY_US)}
                    for _ in range(50)
                ]
            ),
        ),
        "since+until (1 h window)": (
            ops,
            paths(
                [
                    {"since": rfc3339(t - hour), "until": rfc3339(t)}
                    for t in (
                        fixture.now - rng.randrange(1, SPAN_DAYS * 24) * hour for _ in range(50)
                    )
                ]
            ),
        ),
        "member, busiest": (fixture.member_keys[fixture.busy_member], paths([{}])),
        "member, quietest": (fixture.member_keys[fixture.quiet_member], paths([{}])),
        "events: member, busiest": (
            fixture.member_keys[fixture.busy_member],
            [f"/api/v1/events?limit={PAGE}"],
        ),
        "events: member, quietest": (
            fixture.member_keys[fixture.quiet_member],
            [f"/api/v1/events?limit={PAGE}"],
        ),
    }


def _cursor(delivery_id: str) -> str:
    return encode_cursor(delivery_id)


class Recorder:
    """A stand-in database that records the query a repository would run."""

    dialect = POSTGRESQL

    def __init__(self) -> None:
        self.sql = ""
        self.args: tuple[object, ...] = ()

    async def fetch(self, sql: str, *args: object) -> list[object]:
        """Remember ``sql`` and ``args``; no rows."""
        self.sql, self.args = sql, args
        return []


async def plan(url: str, path: str, owner_id: str | None) -> str:
    """The EXPLAIN ANALYZE of the SQL storage runs for the API list ``path``."""
    query = dict(item.split("=", 1) for item in urlsplit(path).query.split("&"))
    recorder = Recorder()
    if path.startswith("/api/v1/events"):
        await Events(recorder).page(owner_id=owner_id, limit=int(query["limit"]))  # type: ignore[arg-type]
        return await explain(url, recorder)
    deliveries = Deliveries(recorder)  # type: ignore[arg-type]
    await deliveries.page(
        status=query.get("status"),
        subscription_id=query.get("subscription_id"),
        event_id=query.get("event_id"),
        since=_micros(query.get("since")),
        until=_micros(query.get("until")),
        owner_id=owner_id,
        limit=int(query["limit"]),
        cursor=unquote(query["cursor"]) if "cursor" in query else None,
    )
    return await explain(url, recorder)


async def explain(url: str, recorder: Recorder) -> str:
    """EXPLAIN ANALYZE of the query ``recorder`` holds."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {recorder.sql}", *recorder.args
        )
    finally:
        await conn.close()
    return "\n".join(row[0] for row in rows)


def _micros(text: str | None) -> int | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(unquote(text).replace("Z", "+00:00"))
    return int(moment.timestamp() * 1_000_000)


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    """``lines`` into ``path``, one a line."""
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


async def serve_bare(port: int, body: bytes) -> None:
    """The baseline: aiohttp answering ``body`` (a page of the same size) to any GET."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/deliveries", page)
    app.router.add_get("/healthz", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def start_gateway(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``hookgate serve`` on ``url``; the process and its port."""
    port = free_port()
    config = folder / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "storage": {"url": url},
                "redis": {"url": REDIS_URL},
                "security": {"secret_key": SECRET_KEY},
                # The benches time the work behind a request, not the per-key limiter.
                "api": {"rate_limit_per_s": 0},
            }
        )
    )
    process = start(
        [sys.executable, "-m", "hookgate", "--config", str(config), "serve"],
        {**os.environ, "HOOKGATE_CONFIG": ""},
    )
    await wait_until_listening(port, process)
    return process, port


async def main(args: argparse.Namespace) -> None:
    """Load, measure each scenario beside the baseline, then print the plans."""
    admin_url = os.environ.get(
        "HOOKGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    async with temporary_database(admin_url, "hookgate_bench_api") as url:
        with tempfile.TemporaryDirectory() as tmp:
            await run(url, Path(tmp), args)


async def run(url: str, folder: Path, args: argparse.Namespace) -> None:
    """The bench proper, in the fresh database ``url``."""
    started = time.perf_counter()
    async with open_storage(url, SECRET_KEY) as storage:
        await storage.migrate()
        fixture = await load(storage, url, args.deliveries)
    loaded_s = time.perf_counter() - started
    print(
        f"loaded {args.deliveries:,} deliveries ({args.deliveries // 4:,} events) "
        f"in {loaded_s:.0f} s"
    )
    cases = scenarios(fixture)
    results: dict[str, dict[str, float]] = {}
    keys_file = write_lines(folder / "keys.txt", fixture.operator_keys)
    gateway, port = await start_gateway(url + args.dsn_suffix, folder)
    try:
        sample = await fetch_page(port, fixture.operator_keys[0])
        assert len(orjson.loads(sample)["data"]) == PAGE, sample[:200]
        for name, (keys, paths) in cases.items():
            keys_file = write_lines(folder / "keys.txt", keys)
            paths_file = write_lines(folder / "paths.txt", paths)
            results[name] = wrk(port, args, keys_file, paths_file)
    finally:
        stop(gateway)
    bare_port = free_port()
    bare = start(
        [
            sys.executable,
            "-m",
            "bench.api",
            "--bare",
            str(bare_port),
            "--body",
            str(write_body(folder, sample)),
        ]
    )
    try:
        await wait_until_listening(bare_port, bare)
        paths_file = write_lines(folder / "paths.txt", ["/api/v1/deliveries?limit=50"])
        baseline = wrk(bare_port, args, keys_file, paths_file)
    finally:
        stop(bare)
    report(args, baseline, results)
    print("\nQuery plans (EXPLAIN ANALYZE of the SQL storage runs for each scenario):")
    owners = {
        name: fixture.busy_member if "busiest" in name else fixture.quiet_member
        for name in cases
        if "member" in name
    }
    for name, (_, paths) in cases.items():
        print(f"\n-- {name}: {unquote(paths[0])}")
        print(await plan(url, paths[0], owners.get(name)))


async def fetch_page(port: int, api_key: str) -> bytes:
    """One page of 50 through the running gateway (checks it works; the baseline's body)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"http://127.0.0.1:{port}/api/v1/deliveries?limit={PAGE}", headers=headers
        ) as r,
    ):
        return await r.read()


def write_body(folder: Path, body: bytes) -> Path:
    """The baseline's page body, in a file."""
    path = folder / "page.json"
    path.write_bytes(body)
    return path


def wrk(port: int, args: argparse.Namespace, keys: Path, paths: Path) -> dict[str, float]:
    """One wrk run of ``bench/api.lua`` over ``paths`` and ``keys`` against ``port``."""
    return run_wrk(
        LUA,
        f"http://127.0.0.1:{port}",
        connections=args.connections,
        seconds=args.seconds,
        script_args=(str(keys), str(paths)),
    )


def report(
    args: argparse.Namespace, baseline: dict[str, float], results: dict[str, dict[str, float]]
) -> None:
    """The table: one line per scenario, the baseline first."""
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.seconds:.0f}s, "
        f"GET /api/v1/deliveries?limit={PAGE}, PostgreSQL, {args.deliveries:,} deliveries; "
        "p99 target 20 ms"
    )
    print(f"{'scenario':<28}{'req/s':>9}{'vs bare':>9}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>9}")
    rows = {"bare aiohttp (static page)": baseline, **results}
    for name, r in rows.items():
        print(
            f"{name:<28}{r['rps']:>9,.0f}{r['rps'] / baseline['rps']:>9.2f}"
            f"{r['p50']:>8.2f}{r['p99']:>8.2f}{r['non_2xx']:>9,.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument(
        "--dsn-suffix", default="", help="appended to the gateway's storage URL (server settings)"
    )
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--body", type=Path, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.bare:
        asyncio.run(serve_bare(parsed.bare, parsed.body.read_bytes()))
    else:
        asyncio.run(main(parsed))
