"""``/stream``: what is stored and attempted, live, as Server-Sent Events.

Storage is the source of truth: each record is a row of the change feed
(``storage.changes``), and its SSE ``id`` is the feed position, so a client that comes
back with ``Last-Event-ID`` is caught up from storage with neither a gap nor a repeat.

One ``Feed`` per gateway process reads the feed and fans each page out to every open
stream, so 100 clients cost one query per wake-up, not 100. It reads when woken
(``core.wakeups``: the gateway that ingested, the worker that dispatched an event or
recorded an attempt publishes after its commit; and once on subscribing), when the last
page was held back or full, and every ``POLL_S`` regardless, so a lost wake-up delays a
record and never loses one.

The fan-out costs one rendering per record and one filtering per page for each
distinct scope (a caller's reach and filters), not per stream: each page becomes one
``View`` per scope, its shown records joined into bytes once, shared by every stream of
that scope, and written with one call per stream per page (or per run of pages, for a
stream that fell behind).

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
from storage.records import User

log = structlog.get_logger()
TAG = "stream"
HEARTBEAT_S = web.AppKey("stream_heartbeat_s", float)
DEFAULT_HEARTBEAT_S = 15.0
POLL_S = 1.0
FEED_POLL_S = web.AppKey("stream_feed_poll_s", float)
HELD_RETRY_S = 0.002
STORAGE_RETRY_S = 1.0
# How long a starting gateway waits to hear wake-ups before it serves (Redis may be down).
SUBSCRIBE_WAIT_S = 2.0
# Pages a stream may fall behind before it is ended (its client resumes from storage).
MAX_BACKLOG = 1000


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


@dataclass(frozen=True, slots=True)
class Page:
    """Records read together, in feed order (never empty)."""

    records: tuple[Record, ...]

    def view(self, scope: Scope) -> View:
        """What the page shows ``scope``, its text joined once for all its streams."""
        shown = [record for record in self.records if scope.shows(record.change)]
        return View(
            self,
            b"".join(record.text for record in shown),
            shown[-1].change.position if shown else None,
        )


@dataclass(frozen=True, slots=True)
class View:
    """A page as one scope sees it: the text of the records it shows, and the last
    shown record's position (None: it shows none)."""

    page: Page
    text: bytes
    last_shown: Position | None


class Listener:
    """One stream's place in the feed: the views read after it joined (None: the end)."""

    def __init__(self, start: Position, scope: Scope) -> None:
        self.start = start
        self.scope = scope
        self.views: asyncio.Queue[View | None] = asyncio.Queue()


class Feed:
    """Reads the change feed once for the process and hands each page to every listener."""

    def __init__(self, changes: Changes, wakeups: Wakeups, *, poll_s: float = POLL_S) -> None:
        self._changes = changes
        self._wakeups = wakeups
        self._poll_s = poll_s
        self._listeners: set[Listener] = set()
        self._woken = asyncio.Event()
        self._hearing = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.position = Position(0, 0)

    async def start(self) -> None:
        """Start reading at the end of the feed, and hearing wake-ups."""
        self.position = await self._changes.end()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._hear())]
        # So that a stream opened once the app is up hears the first commit after it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                await self._hearing.wait()

    @contextlib.contextmanager
    def listen(self, scope: Scope) -> Iterator[Listener]:
        """A listener for the block, whose views are of everything after ``start``."""
        listener = Listener(self.position, scope)
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
                self._hand_out(Page(tuple(render(change) for change in read.changes)))
            if not read.held:
                return
            if not read.changes:
                # Committed rows wait behind a transaction still open: look again shortly.
                await asyncio.sleep(HELD_RETRY_S)

    def _hand_out(self, page: Page) -> None:
        views: dict[Scope, View] = {}
        for listener in list(self._listeners):
            if listener.views.qsize() >= MAX_BACKLOG:
                log.info("stream_dropped_slow_client", behind=listener.views.qsize())
                self._listeners.discard(listener)
                listener.views.put_nowait(None)
                continue
            view = views.get(listener.scope)
            if view is None:
                view = views[listener.scope] = page.view(listener.scope)
            listener.views.put_nowait(view)

    async def _hear(self) -> None:
        while True:
            try:
                async for _ in self._wakeups.heard():
                    self._hearing.set()
                    self._woken.set()
            except REDIS_TROUBLE as e:
                log.warning("stream_wakeups_lost", error=type(e).__name__)
                await asyncio.sleep(STORAGE_RETRY_S)

    async def close(self) -> None:
        """End every stream and stop reading."""
        for listener in list(self._listeners):
            listener.views.put_nowait(None)
        self._listeners.clear()
        # Cancelled until done: redis-py's socket timeouts can swallow one cancellation
        # on Python 3.11 (see ``core.tasks``), which left the gateway's shutdown hanging.
        await finish_or_cancel(self._tasks, 0)
        self._tasks = []


FEED = web.AppKey("stream_feed", Feed)


async def feed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Wake-ups (published by ingest, heard by the feed) and the feed, for the app's life."""
    wakeups = Wakeups.connect(app[state.CONFIG].redis_url)
    feed = Feed(app[state.STORAGE].changes, wakeups, poll_s=app.get(FEED_POLL_S, POLL_S))
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
        self.scope = scope
        self.position = position
        self._announced = position

    async def send(self, views: list[View]) -> None:
        """Write, in one call, the records of ``views`` after the position reached."""
        texts = [text for view in views if (text := self._take(view))]
        if texts:
            await self._response.write(b"".join(texts))

    def _take(self, view: View) -> bytes:
        """The text of ``view`` this stream has not sent, and move past it."""
        records = view.page.records
        if records[-1].change.position <= self.position:
            return b""
        if records[0].change.position > self.position:
            # The usual case: the whole page is new, so the shared text is this stream's.
            self.position = records[-1].change.position
            if view.last_shown is None:
                return b""
            self._announced = view.last_shown
            return view.text
        # Only just after a catch-up: part of the page was sent from storage already.
        fresh = Page(tuple(r for r in records if r.change.position > self.position))
        return self._take(fresh.view(self.scope))

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
    scope = user_scope(call.user, query.source, query.event_type, query.subscription_id)
    return Reply(200, stream=await serve(call.request, scope))


def user_scope(
    user: User,
    source: str | None = None,
    event_type: str | None = None,
    subscription_id: str | None = None,
) -> Scope:
    """What ``user``'s stream shows with those filters: the lists' reach (``owner_scope``)."""
    return Scope(owner_scope(user), source, event_type, subscription_id)


async def serve(request: web.Request, scope: Scope) -> web.StreamResponse:
    """Stream ``scope``'s records to ``request`` until the client goes or the feed ends,
    resuming after its ``Last-Event-ID`` (the API's stream and the console's live page)."""
    resume = _resume_position(request)
    heartbeat_s = request.config_dict.get(HEARTBEAT_S, DEFAULT_HEARTBEAT_S)
    with request.config_dict[FEED].listen(scope) as listener:
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
                await _catch_up(request.config_dict[state.STORAGE].changes, sender)
            await _follow(request, listener, sender, heartbeat_s)
        except (ConnectionError, StorageError) as e:
            log.info("stream_ended", reason=type(e).__name__)
    return response


def _resume_position(request: web.Request) -> Position | None:
    token = request.headers.get("Last-Event-ID")
    if not token:
        return None
    try:
        return Position.parse(token)
    except InvalidFieldError as e:
        raise ProblemError(400, f"Last-Event-ID {e.message}") from e


async def _catch_up(changes: Changes, sender: Sender) -> None:
    """Send what storage holds after the stream's position, page by page."""
    while True:
        read = await changes.after(sender.position)
        if read.changes:
            page = Page(tuple(render(change) for change in read.changes))
            await sender.send([page.view(sender.scope)])
        sender.position = max(sender.position, read.position)
        if not read.held:
            return
        if not read.changes:
            await asyncio.sleep(HELD_RETRY_S)


async def _follow(
    request: web.Request, listener: Listener, sender: Sender, heartbeat_s: float
) -> None:
    """Send the feed's views until the feed ends or the client goes; beat when idle.

    A stream that fell behind (its client reads slowly) sends every view waiting in
    one write.
    """
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + heartbeat_s
    queue = listener.views
    while True:
        if queue.empty():
            wait_s = min(beat_at - loop.time(), 1.0)
            try:
                async with asyncio.timeout(max(wait_s, 0)):
                    first = await queue.get()
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return
                if loop.time() >= beat_at:
                    await sender.heartbeat()
                    beat_at = loop.time() + heartbeat_s
                continue
        else:
            first = queue.get_nowait()
        views = [first]
        while views[-1] is not None and not queue.empty():
            views.append(queue.get_nowait())
        ended = views[-1] is None
        await sender.send([view for view in views if view is not None])
        if ended:
            return


api = Routes(TAG)
OPERATIONS = (
    api.get("/stream", stream_events, "Stream events and attempts", {200: None}, query=StreamQuery),
)
