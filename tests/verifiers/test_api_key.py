"""api-key preset: header token, prefix, rotation, event locators, refusals."""

from __future__ import annotations

import pytest

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    VerificationError,
    Verified,
    VerifierConfigError,
    build_verifier,
)

NOW = 1_700_000_000.0
TOKEN = "tok_3f9a1c"


def keyed_request(headers: dict[str, str], body: bytes = b"{}") -> Request:
    """A webhook with the given (lower-case) headers."""
    return Request(body=body, headers=headers)


def test_default_header_with_event_headers() -> None:
    """``X-Api-Key`` is the default header; id and type come from configured headers."""
    verifier = build_verifier(
        "api-key", (TOKEN,), None, {"id_header": "X-Event-Id", "type_header": "X-Event-Type"}
    )
    request = keyed_request({"x-api-key": TOKEN, "x-event-id": "e-7", "x-event-type": "ping"})

    verified = verifier.verify(request, NOW)

    assert Verified(event_id="e-7", event_type="ping") == verified


def test_bearer_prefix_and_rotation() -> None:
    """A ``Bearer `` token in ``Authorization`` passes with the second listed secret."""
    verifier = build_verifier(
        "api-key", ("old-token", TOKEN), None, {"header": "Authorization", "prefix": "Bearer "}
    )

    verifier.verify(keyed_request({"authorization": f"Bearer {TOKEN}"}), NOW)


def test_gitlab_style_token_with_body_id() -> None:
    """A custom header (GitLab's) verifies; id from a nested body field."""
    verifier = build_verifier(
        "api-key", (TOKEN,), None, {"header": "X-Gitlab-Token", "id_field": "commits.0.id"}
    )
    body = b'{"object_kind":"push","commits":[{"id":"b6568db1"}]}'

    verified = verifier.verify(keyed_request({"x-gitlab-token": TOKEN}, body), NOW)

    assert Verified(event_id="b6568db1") == verified


def test_id_field_on_non_json_body_is_none() -> None:
    """A body that is not JSON gives no id rather than an error."""
    verifier = build_verifier("api-key", (TOKEN,), None, {"id_field": "id"})

    assert Verified() == verifier.verify(keyed_request({"x-api-key": TOKEN}, b"\xff"), NOW)


def test_no_replay_window() -> None:
    """A token carries no timestamp, so any clock is fine."""
    verifier = build_verifier("api-key", (TOKEN,), None, {})

    verifier.verify(keyed_request({"x-api-key": TOKEN}), 0.0)
    verifier.verify(keyed_request({"x-api-key": TOKEN}), NOW * 2)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, MissingHeaderError),
        ({"authorization": TOKEN}, MalformedRequestError),
        ({"authorization": f"bearer {TOKEN}"}, MalformedRequestError),
        ({"authorization": "Bearer \udcff"}, MalformedRequestError),
        ({"authorization": "Bearer tok_3f9a1d"}, SignatureMismatchError),
        ({"authorization": f"Bearer {TOKEN} "}, SignatureMismatchError),
        ({"authorization": "Bearer "}, SignatureMismatchError),
    ],
    ids=[
        "missing",
        "no-prefix",
        "prefix-case",
        "unencodable",
        "wrong-token",
        "trailing-space",
        "empty-token",
    ],
)
def test_refusals(headers: dict[str, str], error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier(
        "api-key", (TOKEN,), None, {"header": "Authorization", "prefix": "Bearer "}
    )

    with pytest.raises(error):
        verifier.verify(keyed_request(headers), NOW)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"header": ""}, "options.header"),
        ({"header": 7}, "options.header"),
        ({"prefix": None}, "options.prefix"),
        ({"id_field": ".id"}, "options.id_field"),
        ({"algorithm": "sha256"}, "options.algorithm"),
    ],
    ids=["empty-header", "header-not-text", "prefix-not-text", "bad-path", "unknown-option"],
)
def test_config_errors(options: dict[str, object], key: str) -> None:
    """Bad options are refused at build time, naming the key."""
    with pytest.raises(VerifierConfigError) as raised:
        build_verifier("api-key", (TOKEN,), None, options)

    assert key == raised.value.key
