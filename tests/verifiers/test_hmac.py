"""Generic hmac preset: providers' published vectors re-expressed as options, and refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from slack_sdk.signature import SignatureVerifier

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    Verified,
    VerifierConfigError,
    build_verifier,
)

NOW = 1_700_000_000.0
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_OPTIONS = {
    "header": "X-Slack-Signature",
    "prefix": "v0=",
    "template": "v0:{timestamp}:{body}",
    "timestamp_header": "X-Slack-Request-Timestamp",
}
PLAIN = {"header": "X-Signature"}
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def signed(key: str, message: bytes, algorithm: str = "sha256") -> str:
    """Hex HMAC of ``message``, computed with the stdlib."""
    return hmac.new(key.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def slack_request(body: bytes, signature: str | None, timestamp: str | None = SLACK_TS) -> Request:
    """A Slack slash command, verified through the generic preset."""
    headers = {}
    if signature is not None:
        headers["x-slack-signature"] = signature
    if timestamp is not None:
        headers["x-slack-request-timestamp"] = timestamp
    return Request(body=body, headers=headers)


def test_github_docs_vector_as_options() -> None:
    """GitHub's published vector verifies as ``sha256=`` hex over the body."""
    verifier = build_verifier(
        "hmac",
        ("It's a Secret to Everybody",),
        None,
        {"header": "X-Hub-Signature-256", "prefix": "sha256=", "type_header": "X-GitHub-Event"},
    )
    request = Request(
        body=b"Hello, World!",
        headers={
            "x-hub-signature-256": GITHUB_SIGNATURE,
            "x-github-event": "push",
        },
    )

    verified = verifier.verify(request, NOW)

    assert Verified(event_type="push") == verified


def test_square_sdk_vector_with_url_template() -> None:
    """Square's SDK vector verifies as base64 HMAC of ``{url}{body}``, id and type from the body."""
    verifier = build_verifier(
        "hmac",
        ("Ibxx_5AKakO-3qeNVR61Dw",),
        None,
        {
            "header": "x-square-hmacsha256-signature",
            "encoding": "base64",
            "template": "{url}{body}",
            "id_field": "event_id",
            "type_field": "data.type",
        },
    )
    request = Request(
        body=b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
        b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
        b'"created_at":"2022-07-13T20:30:59.037339943Z",'
        b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
        headers={"x-square-hmacsha256-signature": "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="},
        url="https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
    )

    verified = verifier.verify(request, NOW)

    assert Verified(event_id="ac3ac95b-f97d-458c-a6e6-18981597e05f", event_type="webhooks") == (
        verified
    )


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (1_531_420_618.0 + 300, True),
        (1_531_420_618.0 - 300, True),
        (1_531_420_618.0 + 301, False),
        (1_531_420_618.0 - 301, False),
    ],
    ids=["old-edge", "future-edge", "too-old", "too-new"],
)
def test_slack_docs_vector_with_timestamp_both_ways(now: float, accepted: bool) -> None:
    """Slack's published vector verifies via ``v0:{timestamp}:{body}``; the window is two-sided."""
    verifier = build_verifier("hmac", (SLACK_SECRET,), None, SLACK_OPTIONS)
    request = slack_request(SLACK_BODY, SLACK_SIGNATURE)

    if accepted:
        verifier.verify(request, now)
    else:
        with pytest.raises(TimestampOutOfToleranceError):
            verifier.verify(request, now)


def test_slack_sdk_signature_under_rotation() -> None:
    """A signature from slack-sdk's signer with the second secret passes."""
    timestamp = str(int(NOW))
    body = b'{"type":"event_callback"}'
    signature = SignatureVerifier("new-secret").generate_signature(timestamp=timestamp, body=body)
    verifier = build_verifier("hmac", ("old-secret", "new-secret"), None, SLACK_OPTIONS)

    verifier.verify(slack_request(body, signature, timestamp), NOW)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_algorithms(algorithm: str) -> None:
    """Each supported algorithm verifies its own HMAC and refuses another's."""
    body = b'{"n":1}'
    verifier = build_verifier("hmac", ("k",), None, {**PLAIN, "algorithm": algorithm})
    other = "sha512" if algorithm == "sha1" else "sha1"

    verifier.verify(Request(body=body, headers={"x-signature": signed("k", body, algorithm)}), NOW)
    with pytest.raises(SignatureMismatchError):
        verifier.verify(Request(body=body, headers={"x-signature": signed("k", body, other)}), NOW)


def test_id_placeholder_and_list_field() -> None:
    """``{id}`` signs the id header, which is also the event id; a digit segment indexes a list."""
    body = b'[{"kind":"order.paid"}]'
    options = {**PLAIN, "template": "{id}.{body}", "id_header": "X-Id", "type_field": "0.kind"}
    verifier = build_verifier("hmac", ("k",), None, options)
    request = Request(
        body=body, headers={"x-signature": signed("k", b"msg_1." + body), "x-id": "msg_1"}
    )

    verified = verifier.verify(request, NOW)

    assert Verified(event_id="msg_1", event_type="order.paid") == verified


def test_literal_braces_in_template() -> None:
    """``{{`` and ``}}`` in the template are signed as literal braces."""
    body = b"x"
    verifier = build_verifier("hmac", ("k",), None, {**PLAIN, "template": "{{{body}}}"})

    verifier.verify(Request(body=body, headers={"x-signature": signed("k", b"{x}")}), NOW)


def test_base64_encoding() -> None:
    """``encoding: base64`` decodes a standard base64 signature."""
    body = b"payload"
    signature = base64.b64encode(hmac.new(b"k", body, hashlib.sha256).digest()).decode()
    verifier = build_verifier("hmac", ("k",), None, {**PLAIN, "encoding": "base64"})

    verifier.verify(Request(body=body, headers={"x-signature": signature}), NOW)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (slack_request(SLACK_BODY, None), MissingHeaderError),
        (slack_request(SLACK_BODY, SLACK_SIGNATURE[3:]), MalformedRequestError),
        (slack_request(SLACK_BODY, "v0=zz"), MalformedRequestError),
        (slack_request(SLACK_BODY + b"&x=1", SLACK_SIGNATURE), SignatureMismatchError),
        (slack_request(SLACK_BODY, "v0=" + "0" * 64), SignatureMismatchError),
        (slack_request(SLACK_BODY, SLACK_SIGNATURE, None), MissingHeaderError),
        (slack_request(SLACK_BODY, SLACK_SIGNATURE, "yesterday"), MalformedRequestError),
        (slack_request(SLACK_BODY, SLACK_SIGNATURE, "1" * 300), MalformedRequestError),
        (slack_request(SLACK_BODY, SLACK_SIGNATURE, "1531420619"), SignatureMismatchError),
    ],
    ids=[
        "missing",
        "no-prefix",
        "not-hex",
        "tampered-body",
        "wrong-signature",
        "missing-timestamp",
        "timestamp-not-integer",
        "huge-timestamp",
        "tampered-timestamp",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("hmac", (SLACK_SECRET,), None, SLACK_OPTIONS)

    with pytest.raises(error):
        verifier.verify(request_, 1_531_420_618.0)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (Request(body=b"x", headers={"x-signature": signed("k", b"x")}), MissingHeaderError),
        (
            Request(body=b"x", headers={"x-signature": "0" * 64, "x-id": "\udcff"}),
            MalformedRequestError,
        ),
    ],
    ids=["missing-id-header", "unencodable-id"],
)
def test_id_placeholder_refusals(request_: Request, error: type[VerificationError]) -> None:
    """A template signing ``{id}`` needs a readable id header."""
    options = {**PLAIN, "template": "{id}.{body}", "id_header": "X-Id"}

    with pytest.raises(error):
        build_verifier("hmac", ("k",), None, options).verify(request_, NOW)


def test_wrong_secret_is_refused() -> None:
    """Slack's vector does not verify under another secret."""
    verifier = build_verifier("hmac", ("not-the-secret",), None, SLACK_OPTIONS)

    with pytest.raises(SignatureMismatchError):
        verifier.verify(slack_request(SLACK_BODY, SLACK_SIGNATURE), 1_531_420_618.0)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "options.header"),
        ({**PLAIN, "algorithm": "md5"}, "options.algorithm"),
        ({**PLAIN, "encoding": "base32"}, "options.encoding"),
        ({**PLAIN, "prefix": 3}, "options.prefix"),
        ({**PLAIN, "template": "{body}{secret}"}, "options.template"),
        ({**PLAIN, "template": "{body!r}"}, "options.template"),
        ({**PLAIN, "template": "{body:>9}"}, "options.template"),
        ({**PLAIN, "template": "{}{body}"}, "options.template"),
        ({**PLAIN, "template": "{body"}, "options.template"),
        ({**PLAIN, "template": "{timestamp}.{body}"}, "options.timestamp_header"),
        ({**PLAIN, "timestamp_header": "X-Ts"}, "options.timestamp_header"),
        ({**PLAIN, "template": "{id}.{body}"}, "options.id_header"),
        ({**PLAIN, "id_header": "X-Id", "id_field": "id"}, "options.id_field"),
        ({**PLAIN, "type_field": "data..type"}, "options.type_field"),
        ({**PLAIN, "type_header": ""}, "options.type_header"),
        ({**PLAIN, "secret": "x"}, "options.secret"),
    ],
    ids=[
        "header-required",
        "unknown-algorithm",
        "unknown-encoding",
        "prefix-not-text",
        "unknown-placeholder",
        "conversion",
        "format-spec",
        "positional",
        "unbalanced",
        "timestamp-without-header",
        "header-without-timestamp",
        "id-without-header",
        "id-header-and-field",
        "empty-path-segment",
        "empty-type-header",
        "unknown-option",
    ],
)
def test_config_errors(options: dict[str, object], key: str) -> None:
    """Bad options are refused at build time, naming the offending key."""
    with pytest.raises(VerifierConfigError) as raised:
        build_verifier("hmac", ("k",), None, options)

    assert key == raised.value.key
