"""``hookgate deliveries list|show|retry``: deliveries and their attempts, over the API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import click

from hookgate.remote.client import Remote, RemoteError
from hookgate.remote.running import (
    counted,
    print_fields,
    print_json,
    print_table,
    remote_options,
    run_remote,
    short_time,
    since_time,
)

STATUSES = ("pending", "succeeded", "failed", "cancelled")
JOB_POLL_S = 0.5


@click.group()
def deliveries() -> None:
    """Deliveries and their attempts, over the API."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this status.")
@click.option("--subscription", metavar="ID", help="Only deliveries to this subscription.")
@click.option("--limit", type=click.IntRange(1, 250), default=50, show_default=True)
@remote_options
def list_deliveries(
    *,
    status: str | None,
    subscription: str | None,
    limit: int,
    url: str,
    api_key: str,
    as_json: bool,
) -> int:
    """List deliveries, newest first."""
    params = {"status": status, "subscription_id": subscription, "limit": limit}

    async def work(remote: Remote) -> int:
        page = await remote.get("/deliveries", params)
        if as_json:
            print_json(page["data"])
            return 0
        print_table(
            ("ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "TARGET"),
            [
                (
                    d["id"],
                    d["event_id"],
                    d["status"],
                    d["attempt_count"],
                    d["last_status_code"],
                    d["target"],
                )
                for d in page["data"]
            ],
        )
        return 0

    return run_remote(url, api_key, work)


@deliveries.command("show")
@click.argument("delivery_id", metavar="ID")
@remote_options
def show_delivery(delivery_id: str, url: str, api_key: str, as_json: bool) -> int:
    """Show a delivery and every attempt at it."""

    async def work(remote: Remote) -> int:
        delivery = await remote.get(f"/deliveries/{delivery_id}")
        if as_json:
            print_json(delivery)
            return 0
        print_fields(
            delivery,
            (
                "id",
                "event_id",
                "subscription_id",
                "target",
                "status",
                "attempt_count",
                "next_attempt_at",
                "created_at",
            ),
        )
        print_table(
            ("#", "STARTED", "STATUS", "MS", "ERROR"),
            [
                (
                    a["number"],
                    short_time(a["started_at"]),
                    a["response_status"],
                    round(a["duration_ms"], 1),
                    a["error"],
                )
                for a in delivery["attempts"]
            ],
        )
        return 0

    return run_remote(url, api_key, work)


@deliveries.command("retry")
@click.argument("delivery_id", metavar="[ID]", required=False)
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    multiple=True,
    help="Bulk: retry every delivery in this status (repeatable).",
)
@click.option("--since", metavar="DURATION|TIME", help="Bulk: created after (2h ago, or a time).")
@click.option("--subscription", metavar="ID", help="Bulk: only deliveries to this subscription.")
@click.option(
    "--dry-run", is_flag=True, help="Bulk: say how many would be retried; change nothing."
)
@remote_options
def retry_deliveries(
    *,
    delivery_id: str | None,
    status: tuple[str, ...],
    since: str | None,
    subscription: str | None,
    dry_run: bool,
    url: str,
    api_key: str,
    as_json: bool,
) -> int:
    """Retry one delivery now (ID), or every delivery matching --status (a job, shown
    with a progress bar until it ends)."""
    bulk = bool(status or since or subscription or dry_run)
    if delivery_id is not None and bulk:
        raise click.UsageError("give a delivery ID or bulk filters (--status …), not both")
    if delivery_id is None and not status:
        raise click.UsageError("give a delivery ID, or --status for a bulk retry")

    async def one(remote: Remote) -> int:
        delivery = await remote.post(f"/deliveries/{delivery_id}/retry")
        if as_json:
            print_json(delivery)
        else:
            click.echo(f"retrying {delivery['id']}: {delivery['status']}, due now")
        return 0

    async def many(remote: Remote) -> int:
        body = {
            "status": list(status),
            "since": since_time(since),
            "subscription_id": subscription,
            "dry_run": dry_run,
        }
        answer = await remote.post(
            "/deliveries/retry", {k: v for k, v in body.items() if v is not None}
        )
        if dry_run:
            if as_json:
                print_json(answer)
            else:
                click.echo(f"would retry {counted(answer['matched'], 'delivery', 'deliveries')}")
            return 0
        job = await _until_done(remote, answer)
        if as_json:
            print_json(job)
        else:
            click.echo(
                f"job {job['id']} {job['status']}: {job['done']} of {job['matched']} retried"
            )
        if job["status"] == "failed":
            raise RemoteError(f"job {job['id']} failed: {job.get('error') or 'no reason given'}")
        return 0

    return run_remote(url, api_key, one if delivery_id is not None else many)


async def _until_done(remote: Remote, job: dict[str, Any]) -> Any:
    """Poll the job until it is no longer running; on a terminal, with a progress bar of
    its count, else with one line when it starts (both on stderr: --json stays clean)."""
    last = job
    if not sys.stderr.isatty():
        # click's bar without a terminal prints its label once and no line end, which
        # ran into the final line.
        matched = counted(job["matched"], "delivery", "deliveries")
        click.echo(f"job {job['id']}: retrying {matched}", err=True)
        return [state async for state in _polled(remote, job)][-1]
    with click.progressbar(
        length=max(int(job["matched"]), 1), label=f"retrying ({job['id']})", file=sys.stderr
    ) as bar:
        async for last in _polled(remote, job):
            bar.update(int(last["done"]) - bar.pos)
    return last


async def _polled(remote: Remote, job: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """``job``, then its state every ``JOB_POLL_S`` until it is no longer running."""
    yield job
    while job["status"] == "running":
        await asyncio.sleep(JOB_POLL_S)
        job = await remote.get(f"/jobs/{job['id']}")
        yield job
