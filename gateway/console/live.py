"""``/console/live``: events and deliveries as they happen.

The page shows the newest events and deliveries (scoped as in the API) and, with
JavaScript on, htmx reloads that fragment every 2 seconds from ``/console/live/feed``.
"""

from __future__ import annotations

from aiohttp import web

from gateway import state
from gateway.api.access import owner_scope
from gateway.console.pages import render
from gateway.console.session import signed

SHOWN = 20


async def live(request: web.Request) -> web.Response:
    """The live page, its feed included (it reads without JavaScript)."""
    return render(request, "live.html", await _feed(request), nav="live")


async def feed(request: web.Request) -> web.Response:
    """The live feed fragment that the page polls."""
    return render(request, "_feed.html", await _feed(request))


async def _feed(request: web.Request) -> dict[str, object]:
    storage = request.config_dict[state.STORAGE]
    owner_id = owner_scope(signed(request).user)
    events = await storage.events.page(owner_id=owner_id, limit=SHOWN)
    deliveries = await storage.deliveries.page(owner_id=owner_id, limit=SHOWN)
    return {"events": events.items, "deliveries": deliveries.items}
