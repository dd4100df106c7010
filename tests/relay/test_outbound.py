"""The outbound request, built without I/O: SPEC §6 headers, static headers that cannot
override them, and what is stored (signatures and credentials redacted)."""

from __future__ import annotations

import time

import orjson
from standardwebhooks.webhooks import Webhook

from policy.redaction import recorded_headers
from relay.outbound import build_request, user_agent
from storage.records import Delivery, Event
from verifiers.signer import StandardWebhooksSigner, generate_secret

EVENT = Event(
    id="evt_01JD0Q6Y1M9ZC8X4W7S5T3R2QP",
    source="github",
    type="push",
    provider_event_id="p1",
    received_at=0,
    headers={"content-type": "application/json; charset=utf-8", "x-github-event": "push"},
    body=b'{"ref": "refs/heads/main"}',
    dispatched_at=None,
)
DELIVERY = Delivery("dlv_1", EVENT.id, "sub_1", "https://x.io/", "pending", 2, 0, None, 0, 0)


def test_request_follows_spec_and_verifies_with_standardwebhooks() -> None:
    """Raw body, original content-type, metadata, attempt number; the stock library verifies."""
    secret = generate_secret()
    timestamp = int(time.time())
    request = build_request(
        url="https://x.io/hook",
        static_headers={"X-Team": "ci", "Webhook-Id": "forged", "Host": "evil", "User-Agent": "x"},
        event=EVENT,
        delivery=DELIVERY,
        attempt=3,
        signer=StandardWebhooksSigner([secret]),
        timestamp=timestamp,
    )

    assert EVENT.body == request.body
    assert {
        "x-team": "ci",
        "webhook-id": EVENT.id,
        "webhook-timestamp": str(timestamp),
        "content-type": "application/json; charset=utf-8",
        "user-agent": user_agent(),
        "hookgate-source": "github",
        "hookgate-event-type": "push",
        "hookgate-delivery-id": "dlv_1",
        "hookgate-attempt": "3",
    } == {k: v for k, v in request.headers.items() if k != "webhook-signature"}
    assert orjson.loads(EVENT.body or b"") == Webhook(secret).verify(
        request.body, dict(request.headers)
    )


def test_stored_headers_hide_signatures_and_credentials() -> None:
    """Attempts are readable through the API: no signature or credential is stored."""
    stored = recorded_headers(
        {
            "webhook-signature": "v1,abc v1,def",
            "authorization": "Bearer s3cret",
            "x-api-key": "k",
            "x-team": "ci",
        }
    )

    assert {
        "webhook-signature": "v1,<redacted> v1,<redacted>",
        "authorization": "<redacted>",
        "x-api-key": "<redacted>",
        "x-team": "ci",
    } == stored
