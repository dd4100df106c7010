"""``/jobs``: bulk retries and replays, stored and run by the workers (``relay.bulk``).

`POST /deliveries/retry` and `POST /events/replay` create a job (202, `Location` to
follow it) after counting what it will go through (`matched`); with `dry_run` they
only answer the count. A job runs in batches; one whose worker died is finished by
another, and no delivery or event of a job is applied twice. Cancelling stops it
before its next batch. A member sees and cancels only the jobs it created.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from core.queue import Queue
from gateway.api.access import owner_scope
from gateway.api.inputs import field_problem, invalid
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.jobs import JobOut, JobPage, JobQuery, MatchedOut
from gateway.api.times import optional_micros
from gateway.problems import ProblemError
from policy.matching import type_matches
from storage import Storage
from storage.events import like_superset
from storage.jobs import Filter, Job
from storage.records import User

log = structlog.get_logger()
TAG = "jobs"


async def list_jobs(call: Call) -> Reply:
    """Jobs, newest first (a member's own only)."""
    query = call.query_as(JobQuery)
    page = await call.storage.jobs.page(
        created_by=owner_scope(call.user), limit=query.limit, cursor=query.cursor
    )
    return Reply(200, page_json([JobOut.row(job) for job in page.items], page.next_cursor))


async def get_job(call: Call) -> Reply:
    """A job: its status and how far it got."""
    return Reply(
        200, JobOut.of(await call.storage.jobs.get(call.path("id"), owner_scope(call.user)))
    )


async def cancel_job(call: Call) -> Reply:
    """Stop a running job before its next batch (what it applied stays applied). A job
    that already succeeded or failed cannot be cancelled (409); cancelling a cancelled
    job answers it as it is."""
    job = await call.storage.jobs.cancel(call.path("id"), owner_scope(call.user))
    if job.status != "cancelled":
        raise ProblemError(409, f"the job has already {job.status}")
    log.info("bulk_job_cancelled", job_id=job.id, done=job.done)
    return Reply(200, JobOut.of(job))


async def start(call: Call, f: Filter, *, dry_run: bool) -> Reply:
    """Answer a bulk request: the count for a dry run, else the new job (202), whose
    workers are woken at once."""
    if dry_run:
        matched, _ = await call.storage.jobs.matches(f)
        return Reply(200, MatchedOut(matched=matched))
    job = await create(call.storage, call.queue, call.user, f)
    location = call.location("get_job", id=job.id)
    return Reply(202, JobOut.of(job), headers={"Location": location})


async def create(storage: Storage, queue: Queue, user: User, f: Filter) -> Job:
    """Store ``user``'s job applying ``f`` and wake the workers to run it (the API's and
    the console's one way to start a bulk job)."""
    job = await storage.jobs.create(user.id, f)
    if job.status == "running":
        await queue.run_jobs()
    log.info("bulk_job_created", job_id=job.id, kind=job.kind, matched=job.matched)
    return job


async def event_types(
    storage: Storage, pattern: str | None, source: str | None
) -> tuple[str, ...] | None:
    """The stored event types ``pattern`` matches (None: any type), as a job keeps them."""
    if pattern is None or pattern == "*":
        return None
    if "*" not in pattern:
        return (pattern,)
    found = await storage.jobs.event_types(like_superset(pattern), source)
    return tuple(t for t in found if type_matches(pattern, t))


def time_span(since: datetime | None, until: datetime | None) -> tuple[int | None, int | None]:
    """``since`` and ``until`` in microseconds; 422 on ``until`` unless it is later."""
    start, end = optional_micros(since), optional_micros(until)
    if start is not None and end is not None and end <= start:
        raise invalid([field_problem("body", "until", "must be later than since")])
    return start, end


api = Routes(TAG)
OPERATIONS = (
    api.get("/jobs", list_jobs, "List bulk jobs", {200: JobPage}, query=JobQuery),
    api.get("/jobs/{id}", get_job, "Get a bulk job", {200: JobOut}),
    api.post("/jobs/{id}/cancel", cancel_job, "Cancel a bulk job", {200: JobOut}, problems=(409,)),
)
