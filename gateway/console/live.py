"""``/console/live``: events and delivery attempts as they happen.

The page is rendered with the newest events and deliveries (scoped as in the API), so
it reads without JavaScript (reload for the latest). With JavaScript on, ``live.js``
opens an ``EventSource`` on ``/console/live/stream``: the API's stream
(``gateway.api.stream.serve``) with the signed-in user's reach, and prepends each
record as a row. The browser resumes it with ``Last-Event-ID`` after a drop.
"""

from __future__ import annotations

from aiohttp import web

from core.clock import now_us
from gateway import state
from gateway.api import stream as api_stream
from gateway.api.access import owner_scope
from gateway.console.pages import render
from gateway.console.session import signed

SHOWN = 20


async def live(request: web.Request) -> web.Response:
    """The live page with the newest rows; ``live.js`` adds the rest as they happen."""
    storage = request.config_dict[state.STORAGE]
    owner_id = owner_scope(signed(request).user)
    events = await storage.events.page(owner_id=owner_id, limit=SHOWN)
    deliveries = await storage.deliveries.page(owner_id=owner_id, limit=SHOWN)
    context = {"events": events.items, "deliveries": deliveries.items, "now": now_us()}
    return render(request, "live.html", context, nav="live")


async def stream(request: web.Request) -> web.StreamResponse:
    """The signed-in user's stream (Server-Sent Events), as ``GET /api/v1/stream``."""
    return await api_stream.serve(request, api_stream.user_scope(signed(request).user))
