"""``/stream``: what is stored and attempted, live, as Server-Sent Events.

Storage is the source of truth: each record is a row of the change feed
(``storage.changes``), and its SSE ``id`` is the feed position, so a client that comes
back with ``Last-Event-ID`` is caught up from storage with neither a gap nor a repeat.

One ``Feed`` per gateway process reads the feed and fans each page out to every open
stream, so 100 clients cost one query per wake-up, not 100. It reads when woken
(``core.wakeups``: the gateway that ingested or the worker that recorded an attempt
publishes after its commit), when the last page was held back or full, and every
``POLL_S`` regardless, so a lost wake-up delays a record and never loses one.

A stream first joins the feed, then, if it resumes, reads storage from its position
until it has caught up, and after that takes the feed's pages, skipping what it has
sent: whatever the feed read before the stream joined is at or before the position the
catch-up reached, and everything it reads later comes through its pages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import orjson
import structlog
from aiohttp import web

from core.queue import REDIS_TROUBLE
from core.tasks import finish_or_cancel
from core.wakeups import Wakeups
from gateway import state
from gateway.api.access import owner_scope
from gateway.api.operations import Call, Reply, Routes
from gateway.api.schemas.stream import StreamAttempt, StreamEvent, StreamQuery
from gateway.problems import ProblemError
from policy.matching import type_matches
from storage import InvalidFieldError, StorageError
from storage.changes import Change, Changes, Position

log = structlog.get_logger()
TAG = "stream"
HEARTBEAT_S = web.AppKey("stream_heartbeat_s", float)
DEFAULT_HEARTBEAT_S = 15.0
POLL_S = 1.0
HELD_RETRY_S = 0.002
STORAGE_RETRY_S = 1.0
# Pages a stream may fall behind before it is ended (its client resumes from storage).
MAX_BACKLOG = 1000
Page = tuple["Record", ...]


@dataclass(frozen=True, slots=True)
class Record:
    """A change and its SSE text, rendered once for every stream."""

    change: Change
    text: bytes


def render(change: Change) -> Record:
    """``change`` as an SSE record: ``id`` its position, ``event`` its kind."""
    if change.kind == "attempt":
        kind, data = b"attempt", StreamAttempt.row(change)
    else:
        kind, data = b"event", StreamEvent.row(change)
    body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
    return Record(
        change, b"id: %s\nevent: %s\ndata: %s\n\n" % (change.position.token().encode(), kind, body)
    )


class Listener:
    """One stream's place in the feed: the pages read after it joined (None: the end)."""

    def __init__(self, start: Position) -> None:
        self.start = start
        self.pages: asyncio.Queue[Page | None] = asyncio.Queue()


class Feed:
    """Reads the change feed once for the process and hands each page to every listener."""

    def __init__(self, changes: Changes, wakeups: Wakeups, *, poll_s: float = POLL_S) -> None:
        self._changes = changes
        self._wakeups = wakeups
        self._poll_s = poll_s
        self._listeners: set[Listener] = set()
        self._woken = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.position = Position(0, 0)

    async def start(self) -> None:
        """Start reading at the end of the feed, and hearing wake-ups."""
        self.position = await self._changes.end()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._hear())]

    @contextlib.contextmanager
    def listen(self) -> Iterator[Listener]:
        """A listener for the block, whose pages are everything after ``start``."""
        listener = Listener(self.position)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def wake(self) -> None:
        """Read the feed now."""
        self._woken.set()

    async def _read(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._woken.wait()
            self._woken.clear()
            await self._read_until_caught_up()

    async def _read_until_caught_up(self) -> None:
        while True:
            try:
                read = await self._changes.after(self.position)
            except StorageError as e:
                log.warning("stream_feed_read_failed", error=str(e))
                await asyncio.sleep(STORAGE_RETRY_S)
                continue
            self.position = read.position
            if read.changes:
                self._hand_out(tuple(render(change) for change in read.changes))
            if not read.held:
                return
            if not read.changes:
                # Committed rows wait behind a transaction still open: look again shortly.
                await asyncio.sleep(HELD_RETRY_S)

    def _hand_out(self, page: Page) -> None:
        for listener in list(self._listeners):
            if listener.pages.qsize() >= MAX_BACKLOG:
                log.info("stream_dropped_slow_client", behind=listener.pages.qsize())
                self._listeners.discard(listener)
                listener.pages.put_nowait(None)
            else:
                listener.pages.put_nowait(page)

    async def _hear(self) -> None:
        while True:
            try:
                async for _ in self._wakeups.heard():
                    self._woken.set()
            except REDIS_TROUBLE as e:
                log.warning("stream_wakeups_lost", error=type(e).__name__)
                await asyncio.sleep(STORAGE_RETRY_S)

    async def close(self) -> None:
        """End every stream and stop reading."""
        for listener in list(self._listeners):
            listener.pages.put_nowait(None)
        self._listeners.clear()
        # Cancelled until done: redis-py's socket timeouts can swallow one cancellation
        # on Python 3.11 (see ``core.tasks``), which left the gateway's shutdown hanging.
        await finish_or_cancel(self._tasks, 0)
        self._tasks = []


FEED = web.AppKey("stream_feed", Feed)


async def feed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Wake-ups (published by ingest, heard by the feed) and the feed, for the app's life."""
    wakeups = Wakeups.connect(app[state.CONFIG].redis_url)
    feed = Feed(app[state.STORAGE].changes, wakeups)
    app[state.WAKEUPS] = wakeups
    app[FEED] = feed
    await feed.start()
    yield
    await feed.close()
    await wakeups.close()


async def end_streams(app: web.Application) -> None:
    """On shutdown, end open streams at once: aiohttp waits for handlers to return."""
    await app[FEED].close()


@dataclass(frozen=True, slots=True)
class Scope:
    """What one stream shows: its caller's reach and its filters."""

    owner_id: str | None
    source: str | None
    event_type: str | None
    subscription_id: str | None

    def shows(self, change: Change) -> bool:
        """Whether ``change`` belongs in this stream.

        An event shows when it is stored; in a stream limited to an owner's or one
        subscription's deliveries, when it is dispatched to one of them instead (it has
        no delivery before). An attempt shows if its delivery is within reach.
        """
        if self.source is not None and change.source != self.source:
            return False
        if self.event_type is not None and not type_matches(self.event_type, change.type):
            return False
        if change.kind == "attempt":
            return self._reaches(change.subscription_id, change.owner_id)
        by_delivery = self.owner_id is not None or self.subscription_id is not None
        if change.kind == "event":
            return not by_delivery
        return by_delivery and any(
            self._reaches(to.subscription_id, to.owner_id) for to in change.audience
        )

    def _reaches(self, subscription_id: str | None, owner_id: str | None) -> bool:
        if self.owner_id is not None and owner_id != self.owner_id:
            return False
        return self.subscription_id is None or subscription_id == self.subscription_id


class Sender:
    """Writes one stream's records in feed order, each once."""

    def __init__(self, response: web.StreamResponse, scope: Scope, position: Position) -> None:
        self._response = response
        self._scope = scope
        self.position = position
        self._announced = position

    async def send(self, page: Page) -> None:
        """Write the records of ``page`` after the position reached and in scope."""
        fresh = [record for record in page if record.change.position > self.position]
        if not fresh:
            return
        self.position = fresh[-1].change.position
        shown = [record for record in fresh if self._scope.shows(record.change)]
        if shown:
            self._announced = shown[-1].change.position
            await self._response.write(b"".join(record.text for record in shown))

    async def heartbeat(self) -> None:
        """A comment, with the position reached if records out of scope moved it."""
        moved = b""
        if self.position != self._announced:
            moved, self._announced = b"id: %s\n" % self.position.token().encode(), self.position
        await self._response.write(b": heartbeat\n" + moved + b"\n")


async def stream_events(call: Call) -> Reply:
    """Events as they are stored and attempts as they are recorded, as Server-Sent Events
    (`text/event-stream`): `event: event` and `event: attempt` records whose `id` is a
    position of the stream, and a comment every 15 s. A member hears only the events
    delivered to its own subscriptions (once dispatched) and their attempts. Send the
    last `id` received as `Last-Event-ID` to resume without a gap or a repeat."""
    query = call.query_as(StreamQuery)
    resume = _resume_position(call.request)
    scope = Scope(owner_scope(call.user), query.source, query.event_type, query.subscription_id)
    request = call.request
    heartbeat_s = request.config_dict.get(HEARTBEAT_S, DEFAULT_HEARTBEAT_S)
    with request.config_dict[FEED].listen() as listener:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        sender = Sender(response, scope, resume or listener.start)
        try:
            if resume is not None:
                await _catch_up(call, sender)
            await _follow(request, listener, sender, heartbeat_s)
        except (ConnectionError, StorageError) as e:
            log.info("stream_ended", reason=type(e).__name__)
    return Reply(200, stream=response)


def _resume_position(request: web.Request) -> Position | None:
    token = request.headers.get("Last-Event-ID")
    if not token:
        return None
    try:
        return Position.parse(token)
    except InvalidFieldError as e:
        raise ProblemError(400, f"Last-Event-ID {e.message}") from e


async def _catch_up(call: Call, sender: Sender) -> None:
    """Send what storage holds after the stream's position, page by page."""
    while True:
        read = await call.storage.changes.after(sender.position)
        await sender.send(tuple(render(change) for change in read.changes))
        sender.position = max(sender.position, read.position)
        if not read.held:
            return
        if not read.changes:
            await asyncio.sleep(HELD_RETRY_S)


async def _follow(
    request: web.Request, listener: Listener, sender: Sender, heartbeat_s: float
) -> None:
    """Send the feed's pages until the feed ends or the client goes; beat when idle."""
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + heartbeat_s
    while True:
        wait_s = min(beat_at - loop.time(), 1.0)
        try:
            async with asyncio.timeout(max(wait_s, 0)):
                page = await listener.pages.get()
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            if loop.time() >= beat_at:
                await sender.heartbeat()
                beat_at = loop.time() + heartbeat_s
            continue
        if page is None:
            return
        await sender.send(page)


api = Routes(TAG)
OPERATIONS = (
    api.get("/stream", stream_events, "Stream events and attempts", {200: None}, query=StreamQuery),
)
