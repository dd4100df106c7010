"""``tail``, ``events show|replay`` and ``deliveries list|show|retry`` as a user runs
them: processes against real ``hookgate serve`` and ``hookgate worker`` processes, their
text read as a person reads it and their ``--json`` parsed as a script does."""

from __future__ import annotations

import asyncio
import base64
import signal
from typing import Any

import orjson

from tests.hookgate.remote import WAIT_S, Live, Receiver, api, cli, ingest, spawn, stop


async def until_in(live: Live, status: str, count: int) -> list[dict[str, Any]]:
    """Wait (bounded) until ``count`` deliveries are in ``status``; them, newest first."""
    async with asyncio.timeout(WAIT_S):
        while True:
            found: list[dict[str, Any]] = (await api(live, "GET", f"/deliveries?status={status}"))[
                "data"
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)


async def test_tail_prints_an_event_and_its_attempt_until_ctrl_c(
    live: Live, receiver: Receiver
) -> None:
    """``tail`` says on stderr that it follows, then prints a line for an ingested
    event and one for the attempt at its delivery; ``tail --json`` prints the same two
    records as JSON lines; Ctrl-C ends both with status 0 and nothing more on stderr."""
    await receiver.start()
    await api(live, "POST", "/subscriptions", {"url": receiver.url})
    human = await spawn("tail", env=live.env(), cwd=live.folder)
    scripted = await spawn("tail", "--json", env=live.env(), cwd=live.folder)
    try:
        assert human.stdout is not None
        assert scripted.stdout is not None
        assert human.stderr is not None
        assert scripted.stderr is not None
        following = [
            await asyncio.wait_for(p.stderr.readline(), WAIT_S)
            for p in (human, scripted)
            if p.stderr is not None
        ]
        event_id = await ingest(live)
        lines = [await asyncio.wait_for(human.stdout.readline(), WAIT_S) for _ in range(2)]
        records = [
            orjson.loads(await asyncio.wait_for(scripted.stdout.readline(), WAIT_S))
            for _ in range(2)
        ]
        for process in (human, scripted):
            process.send_signal(signal.SIGINT)
        codes = [await asyncio.wait_for(p.wait(), WAIT_S) for p in (human, scripted)]
        complaints = await human.stderr.read()
    finally:
        await stop(human)
        await stop(scripted)

    [delivery] = (await api(live, "GET", f"/deliveries?event_id={event_id}"))["data"]
    event_line, attempt_line = (line.decode() for line in lines)
    assert event_line.endswith(f"  event    {event_id}  gh  push\n"), event_line
    assert f"  attempt  {delivery['id']}  #1  204  succeeded  " in attempt_line
    assert attempt_line.endswith(f"ms  {receiver.url}\n"), attempt_line
    assert [
        ("event", event_id, "gh", "push"),
        ("attempt", event_id, delivery["id"], "succeeded"),
    ] == [
        (records[0]["kind"], records[0]["id"], records[0]["source"], records[0]["type"]),
        (
            records[1]["kind"],
            records[1]["event_id"],
            records[1]["delivery_id"],
            records[1]["status"],
        ),
    ]
    assert [f"hookgate: following {live.url} (Ctrl-C to stop)\n".encode()] * 2 == following
    assert ([0, 0], b"") == (codes, complaints)


async def test_events_show_and_replay(live: Live, receiver: Receiver) -> None:
    """``events show`` prints an event's fields, headers and body (``--json``: the API's
    event); ``events replay`` delivers it again and names the new delivery (``--json``:
    the new deliveries)."""
    await receiver.start()
    await api(live, "POST", "/subscriptions", {"url": receiver.url})
    event_id = await ingest(live)
    await receiver.until(1)

    shown = cli("events", "show", event_id, env=live.env(), cwd=live.folder)
    shown_json = cli("events", "show", event_id, "--json", env=live.env(), cwd=live.folder)
    replayed = cli("events", "replay", event_id, env=live.env(), cwd=live.folder)
    replayed_json = cli("events", "replay", event_id, "--json", env=live.env(), cwd=live.folder)
    await receiver.until(3)

    event = await api(live, "GET", f"/events/{event_id}")
    deliveries = (await api(live, "GET", f"/deliveries?event_id={event_id}"))["data"]
    [replay_json] = orjson.loads(replayed_json.stdout)
    [replay_text] = [d for d in deliveries if d["id"] in replayed.stdout]
    lines = shown.stdout.splitlines()
    assert [0, 0, 0, 0] == [
        run.returncode for run in (shown, shown_json, replayed, replayed_json)
    ], shown.stderr + replayed.stderr
    assert (["id", event_id], ["type", "push"]) == (lines[0].split(), lines[2].split())
    assert "  x-github-event: push" in lines
    assert base64.b64decode(event["body_base64"]).decode() == lines[-1]
    assert event == orjson.loads(shown_json.stdout)
    assert (
        f"replayed {event_id}: 1 new delivery\n  {replay_text['id']}  {receiver.url}\n"
    ) == replayed.stdout
    assert (event_id, receiver.url, 3) == (
        replay_json["event_id"],
        replay_json["target"],
        len(deliveries),
    )
    assert [event_id] * 3 == [headers["webhook-id"] for _, headers in receiver.received]


async def test_deliveries_list_show_and_bulk_retry(live: Live, receiver: Receiver) -> None:
    """Two deliveries fail: ``deliveries list --status failed`` and ``show`` print them
    and their attempts (``--json`` parses); ``retry --status failed --dry-run`` counts
    them, and the bulk retry follows its job to the end without a terminal, printing
    where it starts on stderr and how it ended on stdout; the receiver gets both again."""
    receiver.status = 500
    await receiver.start()
    await api(live, "POST", "/subscriptions", {"url": receiver.url})
    for _ in range(2):
        await ingest(live)
    failed = await until_in(live, "failed", 2)
    failed_ids = {delivery["id"] for delivery in failed}
    tried = len(receiver.received)

    def run(*args: str) -> Any:
        return cli("deliveries", *args, env=live.env(), cwd=live.folder)

    listed, listed_json = (
        run("list", "--status", "failed"),
        run("list", "--status", "failed", "--json"),
    )
    shown, shown_json = run("show", failed[0]["id"]), run("show", failed[0]["id"], "--json")
    receiver.status = 204
    counted, counted_json = (
        run("retry", "--status", "failed", "--dry-run"),
        run("retry", "--status", "failed", "--dry-run", "--json"),
    )
    retried = run("retry", "--status", "failed")
    await receiver.until(tried + 2)
    succeeded = await until_in(live, "succeeded", 2)
    again = run("retry", "--status", "succeeded", "--json")

    runs = (listed, listed_json, shown, shown_json, counted, counted_json, retried, again)
    last_job, first_job = (await api(live, "GET", "/jobs"))["data"]
    again_job = orjson.loads(again.stdout)
    detail = orjson.loads(shown_json.stdout)
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [0] * len(runs) == [r.returncode for r in runs], "".join(r.stderr for r in runs)
    assert ["ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "TARGET"] == rows[0]
    assert failed_ids == {row[0] for row in rows[1:]}
    assert {("failed", "500")} == {(row[2], row[4]) for row in rows[1:]}
    assert failed_ids == {d["id"] for d in orjson.loads(listed_json.stdout)}
    assert ["status", "failed"] in [line.split() for line in shown.stdout.splitlines()]
    assert (failed[0]["id"], {500}) == (
        detail["id"],
        {attempt["response_status"] for attempt in detail["attempts"]},
    )
    assert ("would retry 2 deliveries\n", {"matched": 2}) == (
        counted.stdout,
        orjson.loads(counted_json.stdout),
    )
    assert (
        f"job {first_job['id']}: retrying 2 deliveries\n",
        f"job {first_job['id']} succeeded: 2 of 2 retried\n",
    ) == (retried.stderr, retried.stdout)
    assert failed_ids == {delivery["id"] for delivery in succeeded}
    assert (last_job["id"], "succeeded", 2) == (
        again_job["id"],
        again_job["status"],
        again_job["matched"],
    )
