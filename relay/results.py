"""What one attempt produced, before anyone decides what it means."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal["timeout", "connect", "tls", "ssrf_blocked", "http_status", "handler_exception"]
DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One try at a target: the answer (HTTP) or the error, and how long it took.

    ``error`` is None exactly when the attempt succeeded (a 2xx, or a handler that
    returned). Times are unix microseconds.
    """

    started_at: int
    duration_ms: float
    request_headers: Mapping[str, str]
    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: bytes | None = None
    error: ErrorKind | None = None
    detail: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the target took the event."""
        return self.error is None


def detail_of(error: BaseException) -> str:
    """A short, single-line description of ``error`` for ``error_detail``."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return " ".join(text.split())[:DETAIL_LIMIT]
