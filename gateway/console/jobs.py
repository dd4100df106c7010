"""``/console/jobs/{id}``: a bulk job's progress, until it ends.

The job is stored and run by the workers (``relay.bulk``); this page reads it as
``GET /api/v1/jobs/{id}`` does (a member: only the jobs it created). With JavaScript
on, htmx reloads the progress fragment every second while the job is ``running`` and
stops when it ends; without, reloading the page shows how far it got.
"""

from __future__ import annotations

from aiohttp import web

from gateway import state
from gateway.api.access import owner_scope
from gateway.console.pages import render
from gateway.console.session import signed
from storage.jobs import Job


async def show_job(request: web.Request) -> web.Response:
    """The job's page: what it is, and its progress."""
    return render(request, "job.html", {"job": await _job(request)}, nav="deliveries")


async def job_progress(request: web.Request) -> web.Response:
    """The progress fragment that the job's page polls while the job runs."""
    return render(request, "_job.html", {"job": await _job(request)})


async def _job(request: web.Request) -> Job:
    storage = request.config_dict[state.STORAGE]
    return await storage.jobs.get(request.match_info["id"], owner_scope(signed(request).user))
