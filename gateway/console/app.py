"""``create_console``: the ``/console`` sub-application, as a table of contents.

The gateway mounts it with ``app.add_subapp("/console", create_console())``; its
handlers read the gateway's storage, queue and config through ``request.config_dict``.
``guard_middleware`` runs around every route (sessions, CSRF, headers, error pages).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.console import deliveries, events, jobs, live, overview, signin, subscriptions
from gateway.console.guard import guard_middleware
from gateway.console.pages import FILTERS

HERE = Path(__file__).parent


def create_console() -> web.Application:
    """The console app: its pages, its forms' POST routes and its static files."""
    console = web.Application(middlewares=[guard_middleware])
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    add = console.router.add_route
    add("GET", "/login", signin.login_form, name="login_form")
    add("POST", "/login", signin.login, name="login")
    add("POST", "/logout", signin.logout, name="logout")
    add("GET", "/", overview.overview, name="overview")
    add("GET", "/events", events.list_events, name="events")
    add("GET", "/events/{id}", events.show_event, name="event")
    add("POST", "/events/{id}/replay", events.replay_event, name="replay_event")
    add("GET", "/deliveries", deliveries.list_deliveries, name="deliveries")
    add("POST", "/deliveries/retry", deliveries.retry_matching, name="retry_matching")
    add("GET", "/deliveries/{id}", deliveries.show_delivery, name="delivery")
    add("POST", "/deliveries/{id}/retry", deliveries.retry_delivery, name="retry_delivery")
    add("GET", "/jobs/{id}", jobs.show_job, name="job")
    add("GET", "/jobs/{id}/progress", jobs.job_progress, name="job_progress")
    add("GET", "/subscriptions", subscriptions.list_subscriptions, name="subscriptions")
    add("GET", "/subscriptions/new", subscriptions.new_subscription, name="new_subscription")
    add("POST", "/subscriptions", subscriptions.create_subscription, name="create_subscription")
    add("GET", "/subscriptions/{id}", subscriptions.show_subscription, name="subscription")
    add("POST", "/subscriptions/{id}", subscriptions.edit_subscription, name="edit_subscription")
    add("POST", "/subscriptions/{id}/enabled", subscriptions.set_enabled, name="set_enabled")
    add("POST", "/subscriptions/{id}/rotate-secret", subscriptions.rotate_secret, name="rotate")
    add("POST", "/subscriptions/{id}/test", subscriptions.send_test, name="send_test")
    add("GET", "/live", live.live, name="live")
    add("GET", "/live/stream", live.stream, name="live_stream")
    console.router.add_static("/static", HERE / "static", name="static")
    return console
