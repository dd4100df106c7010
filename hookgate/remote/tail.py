"""``hookgate tail``: one line per event stored and attempt recorded, live."""

from __future__ import annotations

from typing import Any

import click
import orjson

from hookgate.remote.client import Remote, StreamRecord
from hookgate.remote.running import remote_options, run_remote, short_time


@click.command()
@click.option("--source", metavar="S", help="Only this source's events and their attempts.")
@click.option("--type", "event_type", metavar="T", help="Only these types (pattern: invoice.*).")
@click.option("--subscription", metavar="ID", help="Only this subscription's deliveries.")
@remote_options
def tail(
    *,
    source: str | None,
    event_type: str | None,
    subscription: str | None,
    url: str,
    api_key: str,
    as_json: bool,
) -> int:
    """Follow events and attempts as they happen (Ctrl-C to stop)."""
    params = {"source": source, "event_type": event_type, "subscription_id": subscription}

    async def work(remote: Remote) -> int:
        def say_following() -> None:
            click.echo(f"hookgate: following {remote.url} (Ctrl-C to stop)", err=True)

        records = remote.follow(params, on_reconnect=say_reconnecting, on_connect=say_following)
        async for record in records:
            if as_json:
                click.echo(orjson.dumps({"kind": record.kind, **record.data}).decode())
            else:
                click.echo(tail_line(record))
        return 0

    return run_remote(url, api_key, work)


def tail_line(record: StreamRecord) -> str:
    """A record as one line."""
    data: dict[str, Any] = record.data
    if record.kind == "event":
        when = short_time(data["received_at"])
        return f"{when}  event    {data['id']}  {data['source']}  {data['type']}"
    answer = data["response_status"] or data["error"]
    return (
        f"{' ' * 20}  attempt  {data['delivery_id']}  #{data['number']}  {answer}  "
        f"{data['status']}  {round(data['duration_ms'])}ms  {data['target']}"
    )


def say_reconnecting(reason: str, wait_s: float) -> None:
    """Tell the user the stream dropped and when it is tried again."""
    click.echo(f"hookgate: {reason}; reconnecting in {wait_s:g} s", err=True)
