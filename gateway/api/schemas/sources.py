"""Configured sources, as the API shows them: never their secrets."""

from __future__ import annotations

from pydantic import Field, JsonValue

from core.config import SourceConfig
from gateway.api.schemas.common import Page, Resource


class SourceOut(Resource):
    """A provider posting to ``POST /ingest/{name}``."""

    name: str
    verifier: str = Field(description="The verifier preset.")
    ingest_url: str
    tolerance_s: float | None = Field(description="Timestamp tolerance; null = the preset's.")
    secret_count: int = Field(description="How many secrets are configured (several = rotation).")
    options: dict[str, JsonValue] = Field(description="The preset's options (never secrets).")
    rate_limit_per_s: float | None

    @classmethod
    def of(cls, source: SourceConfig, public_url: str) -> SourceOut:
        """The representation of ``source``, ingesting under ``public_url``."""
        return cls(
            name=source.name,
            verifier=source.verifier,
            ingest_url=f"{public_url.rstrip('/')}/ingest/{source.name}",
            tolerance_s=source.tolerance_s,
            secret_count=len(source.secrets),
            options=dict(source.options),  # type: ignore[arg-type]
            rate_limit_per_s=source.rate_limit_per_s,
        )


class SourcePage(Page[SourceOut]):
    """Every configured source (one page: ``next_cursor`` is always null)."""
