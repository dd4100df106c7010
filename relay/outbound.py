"""The HTTP request a delivery attempt sends (SPEC §6), built without I/O.

The body is the event's raw bytes, verbatim, with its original ``content-type``.
Headers: the subscription's static headers first, then the protocol headers, which
always win (a static ``webhook-id`` cannot break receivers' deduplication), without
hop-by-hop names that would corrupt the request. ``webhook-id`` is the event id, the
same on every retry and replay; ``webhook-signature`` carries one ``v1,`` entry per
active secret (rotation).

What is stored with the attempt hides the signatures and any static header that looks
like a credential (``policy.redaction``): attempts are readable through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from storage.records import Delivery, Event
from verifiers.signer import StandardWebhooksSigner

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_NOT_STATIC = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}
)
_PROTOCOL_PREFIXES = ("webhook-", "hookgate-")


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One POST: where, what headers, which bytes."""

    url: str
    headers: Mapping[str, str]
    body: bytes


@cache
def user_agent() -> str:
    """``hookgate/<version>`` (read from the installed package once)."""
    try:
        return f"hookgate/{version('hookgate')}"
    except PackageNotFoundError:
        return "hookgate/0.0.0"


def build_request(
    *,
    url: str,
    static_headers: Mapping[str, str],
    event: Event,
    delivery: Delivery,
    attempt: int,
    signer: StandardWebhooksSigner,
    timestamp: int,
) -> OutboundRequest:
    """The request for attempt number ``attempt`` of ``delivery``, signed at ``timestamp``."""
    body = event.body or b""
    headers = {
        name.lower(): value
        for name, value in static_headers.items()
        if name.lower() not in _NOT_STATIC and not name.lower().startswith(_PROTOCOL_PREFIXES)
    }
    headers.update(signer.headers(event.id, timestamp, body))
    headers.update(
        {
            "content-type": event.headers.get("content-type", DEFAULT_CONTENT_TYPE),
            "user-agent": user_agent(),
            "hookgate-source": event.source,
            "hookgate-event-type": event.type,
            "hookgate-delivery-id": delivery.id,
            "hookgate-attempt": str(attempt),
        }
    )
    return OutboundRequest(url=url, headers=headers, body=body)
