"""``hookgate events list|show|replay``: stored webhooks, over the API."""

from __future__ import annotations

import base64

import click

from hookgate.remote.client import Remote
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


@click.group()
def events() -> None:
    """Stored webhooks, over the API."""


@events.command("list")
@click.option("--source", metavar="S", help="Only events of this source.")
@click.option("--type", "event_type", metavar="T", help="Only events of this exact type.")
@click.option("--since", metavar="DURATION|TIME", help="Received after: 2h ago, or a time.")
@click.option("--limit", type=click.IntRange(1, 250), default=50, show_default=True)
@remote_options
def list_events(
    *,
    source: str | None,
    event_type: str | None,
    since: str | None,
    limit: int,
    url: str,
    api_key: str,
    as_json: bool,
) -> int:
    """List events, newest first."""
    params = {"source": source, "event_type": event_type, "since": since_time(since)}

    async def work(remote: Remote) -> int:
        page = await remote.get("/events", {**params, "limit": limit})
        if as_json:
            print_json(page["data"])
            return 0
        print_table(
            ("ID", "SOURCE", "TYPE", "RECEIVED"),
            [(e["id"], e["source"], e["type"], short_time(e["received_at"])) for e in page["data"]],
        )
        return 0

    return run_remote(url, api_key, work)


@events.command("show")
@click.argument("event_id", metavar="ID")
@remote_options
def show_event(event_id: str, url: str, api_key: str, as_json: bool) -> int:
    """Show an event with its headers and body."""

    async def work(remote: Remote) -> int:
        event = await remote.get(f"/events/{event_id}")
        if as_json:
            print_json(event)
            return 0
        print_fields(event, ("id", "source", "type", "provider_event_id", "received_at"))
        click.echo("headers:")
        for name, value in sorted(event["headers"].items()):
            click.echo(f"  {name}: {value}")
        click.echo("body:")
        click.echo(base64.b64decode(event["body_base64"]).decode("utf-8", "replace"))
        return 0

    return run_remote(url, api_key, work)


@events.command("replay")
@click.argument("event_id", metavar="ID")
@remote_options
def replay_event(event_id: str, url: str, api_key: str, as_json: bool) -> int:
    """Deliver an event again to every target that matches it now (operators, admins)."""

    async def work(remote: Remote) -> int:
        created = await remote.post(f"/events/{event_id}/replay")
        if as_json:
            print_json(created["data"])
            return 0
        news = counted(len(created["data"]), "new delivery", "new deliveries")
        click.echo(f"replayed {event_id}: {news}")
        for delivery in created["data"]:
            click.echo(f"  {delivery['id']}  {delivery['target']}")
        return 0

    return run_remote(url, api_key, work)
