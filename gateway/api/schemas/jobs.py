"""Bulk retries and replays (their filters), and the stored jobs that apply them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from gateway.api.schemas.common import Body, ListQuery, Page, Resource
from gateway.api.schemas.subscriptions import EventTypePattern, SourceName
from gateway.api.times import optional_datetime, to_datetime
from storage.jobs import Job, JobKind, JobStatus
from storage.records import DeliveryStatus

Id = Field(default=None, max_length=40)
DRY_RUN = Field(default=False, description="Only count what would be touched: `200 {matched}`.")


def _failed() -> list[DeliveryStatus]:
    return ["failed"]


class BulkRetryIn(Body):
    """Which deliveries to retry (all the filters given must hold)."""

    status: list[DeliveryStatus] = Field(
        default_factory=_failed,
        min_length=1,
        max_length=4,
        description='Their statuses now; by default `["failed"]`.',
    )
    subscription_id: str | None = Id
    event_id: str | None = Field(default=None, max_length=40, description="Their event.")
    source: SourceName | None = Field(default=None, description="Their event's source.")
    event_type: EventTypePattern | None = Field(
        default=None, description="A pattern for their event's type, as subscriptions take."
    )
    since: AwareDatetime | None = Field(default=None, description="Created at or after.")
    until: AwareDatetime | None = Field(default=None, description="Created before.")
    dry_run: bool = DRY_RUN


class BulkReplayIn(Body):
    """Which events to replay (all the filters given must hold), and where to."""

    source: SourceName | None = None
    event_type: EventTypePattern | None = Field(
        default=None, description="A pattern for their type, as subscriptions take."
    )
    since: AwareDatetime | None = Field(default=None, description="Received at or after.")
    until: AwareDatetime | None = Field(default=None, description="Received before.")
    subscription_id: str | None = Field(
        default=None,
        max_length=40,
        description="Replay to this subscription only (if it wants the event); by default "
        "to every target matching the event now.",
    )
    dry_run: bool = DRY_RUN


class MatchedOut(Resource):
    """What a dry run found."""

    matched: int = Field(description="How many items a job would go through now.")


class JobOut(Resource):
    """A stored bulk retry or replay and how far it got."""

    id: str = Field(examples=["job_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"])
    kind: JobKind
    status: JobStatus
    matched: int = Field(description="Items matched when the job was created.")
    done: int = Field(description="Items gone through so far (`skipped` included).")
    skipped: int = Field(
        description="Items left alone: a delivery whose subscription was deleted or is "
        "disabled (retry), an event no current target wants (replay)."
    )
    created_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why a `failed` job stopped.")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The representation of ``job``."""
        return cls.model_validate(cls.row(job))

    @staticmethod
    def row(job: Job) -> dict[str, Any]:
        """``of(job)`` as the dict it dumps to: list pages render these directly."""
        return {
            "id": job.id,
            "kind": job.kind,
            "status": job.status,
            "matched": job.matched,
            "done": job.done,
            "skipped": job.skipped,
            "created_at": to_datetime(job.created_at),
            "finished_at": optional_datetime(job.finished_at),
            "error": job.error,
        }


class JobQuery(ListQuery):
    """The job list: newest first."""


class JobPage(Page[JobOut]):
    """A page of jobs."""
