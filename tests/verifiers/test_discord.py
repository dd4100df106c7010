"""Discord preset: PyNaCl-signed requests the official verify_key accepts, PINGs, refusals."""

from __future__ import annotations

import pytest
from discord_interactions import verify_key
from nacl.signing import SigningKey

from verifiers import (
    Handshake,
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    Verified,
    VerifierConfigError,
    build_verifier,
    find_preset,
)

NOW = 1_700_000_000
TS = str(NOW)
KEY = SigningKey(bytes(range(32)))
OTHER_KEY = SigningKey(bytes(range(1, 33)))
PUBLIC = bytes(KEY.verify_key).hex()
OTHER_PUBLIC = bytes(OTHER_KEY.verify_key).hex()
COMMAND = b'{"id":"1203567890123456789","type":2,"data":{"name":"ping"},"version":1}'
INTERACTION_PING = b'{"id":"1203567890123456780","type":1,"application_id":"42","version":1}'
EVENTS_PING = b'{"version":1,"application_id":"42","type":0}'
EVENT = (
    b'{"version":1,"application_id":"42","type":1,"event":{"type":"APPLICATION_AUTHORIZED",'
    b'"timestamp":"2026-11-02T10:00:00.000000+00:00","data":{"integration_type":0}}}'
)


def signature(body: bytes, ts: str = TS, key: SigningKey = KEY) -> str:
    """The hex Ed25519 signature Discord sends, made with PyNaCl."""
    return key.sign(ts.encode() + body).signature.hex()


def discord_request(body: bytes, sig: str | None = None, ts: str | None = TS) -> Request:
    """A Discord delivery; signed with ``KEY`` unless ``sig`` is given."""
    headers = {}
    if ts is not None:
        headers["x-signature-timestamp"] = ts
        headers["x-signature-ed25519"] = signature(body, ts) if sig is None else sig
    return Request(body=body, headers=headers)


def test_command_is_accepted_and_discord_interactions_agrees() -> None:
    """A signed command verifies here and in ``discord_interactions.verify_key``."""
    request = discord_request(COMMAND)
    verifier = build_verifier("discord", (PUBLIC,), None, {})

    verified = verifier.verify(request, NOW)

    assert ("1203567890123456789", "2") == (verified.event_id, verified.event_type)
    assert verify_key(COMMAND, request.headers["x-signature-ed25519"], TS, PUBLIC)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (INTERACTION_PING, Verified(handshake=Handshake(status=200, body=b'{"type":1}'))),
        (EVENTS_PING, Verified(handshake=Handshake(status=204))),
        (EVENT, Verified(event_type="APPLICATION_AUTHORIZED")),
        (b'{"type":true}', Verified()),
        (b"not json", Verified()),
    ],
    ids=["interaction-ping", "webhook-events-ping", "webhook-event", "boolean-type", "not-json"],
)
def test_handshakes_and_webhook_events(body: bytes, expected: Verified) -> None:
    """PINGs get their exact answers; webhook events are typed by ``event.type``."""
    verifier = build_verifier("discord", (PUBLIC,), None, {})

    assert expected == verifier.verify(discord_request(body), NOW)


def test_rotated_key_is_accepted() -> None:
    """A request signed by the second listed public key passes."""
    request = discord_request(COMMAND, signature(COMMAND, key=OTHER_KEY))
    verifier = build_verifier("discord", (PUBLIC, OTHER_PUBLIC), None, {})

    assert "2" == verifier.verify(request, NOW).event_type


def test_stored_events_are_acknowledged_with_204() -> None:
    """Discord asks for 204 on webhook events, so the preset says so."""
    assert 204 == find_preset("discord").accepted_status


def test_no_tolerance_by_default_like_the_sdk() -> None:
    """Discord's SDK checks no timestamp, so a day-old signed request still passes."""
    verifier = build_verifier("discord", (PUBLIC,), None, {})

    assert "2" == verifier.verify(discord_request(COMMAND), NOW + 86_400).event_type


@pytest.mark.parametrize("now", [NOW + 6, NOW - 6], ids=["too-old", "too-new"])
def test_configured_tolerance_checks_both_ways(now: int) -> None:
    """With ``tolerance_s`` set, timestamps outside it either way are refused."""
    verifier = build_verifier("discord", (PUBLIC,), 5, {})

    with pytest.raises(TimestampOutOfToleranceError):
        verifier.verify(discord_request(COMMAND), now)


@pytest.mark.parametrize(
    ("request_", "tolerance_s", "error"),
    [
        (
            Request(
                body=COMMAND,
                headers={"x-signature-timestamp": TS, "x-signature-ed25519": signature(b"{}")},
            ),
            None,
            SignatureMismatchError,
        ),
        (
            Request(
                body=INTERACTION_PING,
                headers={
                    "x-signature-timestamp": str(NOW + 1),
                    "x-signature-ed25519": signature(INTERACTION_PING),
                },
            ),
            None,
            SignatureMismatchError,
        ),
        (discord_request(COMMAND, signature(COMMAND, key=OTHER_KEY)), None, SignatureMismatchError),
        (discord_request(COMMAND, "00" * 64), None, SignatureMismatchError),
        (discord_request(COMMAND, "abcd"), None, SignatureMismatchError),
        (discord_request(COMMAND, "zz" * 64), None, MalformedRequestError),
        (discord_request(COMMAND, ts=None), None, MissingHeaderError),
        (
            Request(body=COMMAND, headers={"x-signature-ed25519": signature(COMMAND)}),
            None,
            MissingHeaderError,
        ),
        (
            discord_request(COMMAND, signature(COMMAND), ts="\udcff\ud800"),
            None,
            SignatureMismatchError,
        ),
        (discord_request(COMMAND, ts="yesterday"), 5, MalformedRequestError),
    ],
    ids=[
        "tampered-body",
        "forged-ping-timestamp",
        "wrong-key",
        "zero-signature",
        "short-signature",
        "not-hex",
        "no-headers",
        "missing-timestamp",
        "undecodable-timestamp",
        "non-numeric-timestamp-with-tolerance",
    ],
)
def test_refusals(
    request_: Request, tolerance_s: float | None, error: type[VerificationError]
) -> None:
    """Each broken request is refused with its own typed error (never answered as a PING)."""
    verifier = build_verifier("discord", (PUBLIC,), tolerance_s, {})

    with pytest.raises(error):
        verifier.verify(request_, NOW)


@pytest.mark.parametrize(
    "secret", ["not hex", "abcd", PUBLIC + "00"], ids=["not-hex", "short", "long"]
)
def test_bad_public_keys_are_config_errors(secret: str) -> None:
    """A public key that is not 32 hex bytes fails at build time."""
    with pytest.raises(VerifierConfigError):
        build_verifier("discord", (secret,), None, {})
