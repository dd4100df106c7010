"""``/console/``: the last 24 hours at a glance.

Operators and admins see the gateway's overview (``storage.stats``, as
``GET /api/v1/stats``): events per source, deliveries by status, the pending backlog
and its oldest delivery's age, and attempts per interval by outcome. A member sees the
health of its own subscriptions.
"""

from __future__ import annotations

from aiohttp import web

from core.clock import SECOND_US
from gateway import state
from gateway.api.access import owner_scope
from gateway.api.schemas.stats import OverviewOut
from gateway.console.charts import outcome_chart
from gateway.console.pages import duration_s, render
from gateway.console.session import signed
from gateway.console.subscriptions import with_health

DAY_US = 86_400 * SECOND_US


async def overview(request: web.Request) -> web.Response:
    """The overview page."""
    storage = request.config_dict[state.STORAGE]
    user = signed(request).user
    context: dict[str, object] = {"overview": None, "chart": None, "oldest_age": None}
    if owner_scope(user) is None:
        stats = await storage.stats.overview(storage.stats.window(DAY_US))
        shown = OverviewOut.of(stats)
        context["overview"] = shown
        context["oldest_age"] = (
            None if shown.oldest_pending_age_s is None else duration_s(shown.oldest_pending_age_s)
        )
        context["chart"] = outcome_chart(
            stats.series, "Delivery attempts per hour over the last 24 hours, by outcome"
        )
    page = await storage.subscriptions.page(owner_id=user.id, limit=50)
    context["mine"] = await with_health(storage, page.items)
    return render(request, "overview.html", context, nav="overview")
