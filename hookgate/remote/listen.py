"""``hookgate listen``: forward every matching event to a local app, signed, as
``stripe listen`` does — for developing a receiver against real traffic.

Each event heard on the stream is fetched (``GET /events/{id}``: its exact body and
content type) and POSTed to ``--forward-to`` with Standard Webhooks headers signed with
``--secret`` (a new one, printed at start, if not given). A local app that is down or
slow is reported for that event and listening goes on.
"""

from __future__ import annotations

import base64
import time

import aiohttp
import click

from hookgate.remote.client import Remote, connect_reason
from hookgate.remote.running import remote_options, run_remote
from hookgate.remote.tail import say_reconnecting
from verifiers.signer import StandardWebhooksSigner, generate_secret

FORWARD_TIMEOUT_S = 30.0


@click.command()
@click.option("--forward-to", required=True, metavar="URL", help="Where to POST each event.")
@click.option("--source", metavar="S", help="Only this source's events.")
@click.option("--type", "event_type", metavar="T", help="Only these types (pattern: invoice.*).")
@click.option(
    "--secret", metavar="whsec_…", help="Sign with this secret (default: a new one, printed)."
)
@remote_options
def listen(
    *,
    forward_to: str,
    source: str | None,
    event_type: str | None,
    secret: str | None,
    url: str,
    api_key: str,
    as_json: bool,
) -> int:
    """Forward matching events to a local URL, signed (Ctrl-C to stop)."""
    if not forward_to.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--forward-to")
    secret = secret or generate_secret()
    try:
        signer = StandardWebhooksSigner([secret])
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--secret") from e
    params = {"source": source, "event_type": event_type}

    async def work(remote: Remote) -> int:
        click.echo(f"forwarding events to {forward_to}, signed with {secret}", err=True)
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as local:
            async for record in remote.follow(params, on_reconnect=say_reconnecting):
                if record.kind == "event":
                    event = await remote.get(f"/events/{record.data['id']}")
                    click.echo(await forward(local, forward_to, signer, event))
        return 0

    return run_remote(url, api_key, work)


async def forward(
    local: aiohttp.ClientSession,
    target: str,
    signer: StandardWebhooksSigner,
    event: dict[str, object],
) -> str:
    """POST ``event``'s raw body to ``target``, signed; one line saying how it went."""
    body = base64.b64decode(str(event["body_base64"]))
    headers = event["headers"]
    assert isinstance(headers, dict)
    sent = {
        "Content-Type": headers.get("content-type", "application/octet-stream"),
        "hookgate-event-type": str(event["type"]),
        **signer.headers(str(event["id"]), int(time.time()), body),
    }
    summary = f"{event['id']}  {event['type']}  -> {target}"
    try:
        async with local.post(target, data=body, headers=sent) as answer:
            await answer.read()
            return f"{summary}  [{answer.status}]"
    except aiohttp.ClientConnectorError as e:
        return f"{summary}  [failed: cannot connect: {connect_reason(e)}]"
    except (aiohttp.ClientError, TimeoutError) as e:
        return f"{summary}  [failed: {type(e).__name__}]"
