"""Remote commands as a user runs them: real ``hookgate serve`` and ``hookgate worker``
processes on a free port, the CLI as a process, a real aiohttp receiver verifying
signatures with the ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson
import pytest
from standardwebhooks import Webhook

from tests.gateway.test_crash import free_port
from tests.hookgate.remote import (
    LISTEN_SECRET,
    WAIT_S,
    Live,
    Receiver,
    api,
    cli,
    ingest,
    spawn,
    stop,
)


async def test_events_list_and_retry_one_delivery(live: Live, receiver: Receiver) -> None:
    """``events list --json`` prints the ingested event; ``deliveries retry ID`` makes
    the worker deliver it again (the receiver gets it twice)."""
    await receiver.start()
    await api(live, "POST", "/subscriptions", {"url": receiver.url})
    event_id = await ingest(live)
    await receiver.until(1)
    [delivery] = (await api(live, "GET", f"/deliveries?event_id={event_id}"))["data"]

    listed = cli("events", "list", "--json", env=live.env(), cwd=live.folder)
    retried = cli("deliveries", "retry", delivery["id"], env=live.env(), cwd=live.folder)
    await receiver.until(2)

    assert (0, 0) == (listed.returncode, retried.returncode), listed.stderr + retried.stderr
    assert [event_id] == [event["id"] for event in orjson.loads(listed.stdout)]
    assert f"retrying {delivery['id']}: pending, due now\n" == retried.stdout
    assert [event_id, event_id] == [headers["webhook-id"] for _, headers in receiver.received]


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
async def test_listen_forwards_signed_and_outlives_a_receiver_that_is_down(
    live: Live, receiver: Receiver
) -> None:
    """``listen`` reports an event it could not forward (the local app is down) and goes
    on; once the app is up, the next event arrives with its raw body and a signature the
    ``standardwebhooks`` package accepts; Ctrl-C ends it with status 0."""
    listen = await spawn(
        *("listen", "--forward-to", receiver.url, "--secret", LISTEN_SECRET),
        env=live.env(),
        cwd=live.folder,
    )
    try:
        assert listen.stderr is not None
        assert listen.stdout is not None
        started = await asyncio.wait_for(listen.stderr.readline(), WAIT_S)
        await asyncio.sleep(0.5)  # connected to the stream
        missed = await ingest(live, "issues")
        refused = await asyncio.wait_for(listen.stdout.readline(), WAIT_S)
        await receiver.start()
        forwarded = await ingest(live, "push")
        delivered = await asyncio.wait_for(listen.stdout.readline(), WAIT_S)
        await receiver.until(1)
        listen.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(listen.wait(), WAIT_S)
    finally:
        await stop(listen)

    [(body, headers)] = receiver.received
    event = await api(live, "GET", f"/events/{forwarded}")
    Webhook(LISTEN_SECRET).verify(body, headers)
    assert f"signed with {LISTEN_SECRET}" in started.decode()
    assert (
        f"{missed}  issues  -> {receiver.url}  [failed: cannot connect: connection refused]\n"
    ) == refused.decode()
    assert f"{forwarded}  push  -> {receiver.url}  [204]\n" == delivered.decode()
    assert (forwarded, "application/json", event["body"]) == (
        headers["webhook-id"],
        headers["Content-Type"],
        orjson.loads(body),
    )
    assert 0 == code


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
async def test_mistakes_are_one_line(live: Live, tmp_path: Path) -> None:
    """An unreachable --url and a wrong key each print one line and exit 1; bad usage
    exits 2."""
    unreachable = cli(
        "events", "list", "--url", f"http://127.0.0.1:{free_port()}", env=live.env(), cwd=tmp_path
    )
    wrong_key = cli("events", "list", env=live.env(HOOKGATE_API_KEY="hg_wrong"), cwd=tmp_path)
    no_target = cli("deliveries", "retry", env=live.env(), cwd=tmp_path)

    assert (1, 1, 2) == (unreachable.returncode, wrong_key.returncode, no_target.returncode)
    assert 1 == len(unreachable.stderr.splitlines())
    assert unreachable.stderr.endswith(": connection refused\n")
    assert "hookgate: cannot reach hookgate at http://127.0.0.1:" in unreachable.stderr
    assert [
        "hookgate: the API key was refused: the API key is not valid (unknown or revoked)"
    ] == wrong_key.stderr.splitlines()
    assert "give a delivery ID, or --status for a bulk retry" in no_target.stderr
    assert "Traceback" not in unreachable.stderr + wrong_key.stderr + no_target.stderr
