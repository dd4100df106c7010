"""Basic preset: HTTP Basic credentials, rotation, event locators, refusals."""

from __future__ import annotations

import base64

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
SECRET = "postmark:s3cr3t:with:colons"


def basic_request(authorization: str | None, body: bytes = b"{}") -> Request:
    """A webhook carrying the given ``Authorization`` header."""
    headers = {} if authorization is None else {"authorization": authorization}
    return Request(body=body, headers=headers)


def credentials(user_password: bytes) -> str:
    """An ``Authorization: Basic`` value for ``user:password``."""
    return "Basic " + base64.b64encode(user_password).decode()


def test_rfc7617_example_is_accepted() -> None:
    """RFC 7617's example (``Aladdin:open sesame``) verifies."""
    verifier = build_verifier("basic", ("Aladdin:open sesame",), None, {})

    verifier.verify(basic_request("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), NOW)


def test_rotation_scheme_case_and_event_fields() -> None:
    """The second secret matches, the scheme is case-insensitive, and id/type come from the body."""
    body = b'{"RecordType":"Delivery","MessageID":"883953f4"}'
    verifier = build_verifier(
        "basic",
        ("old:pass", SECRET),
        None,
        {"id_field": "MessageID", "type_field": "RecordType"},
    )
    authorization = credentials(SECRET.encode()).replace("Basic", "basic")

    verified = verifier.verify(basic_request(authorization, body), NOW)

    assert Verified(event_id="883953f4", event_type="Delivery") == verified


def test_no_replay_window() -> None:
    """Basic auth carries no timestamp, so any clock is fine."""
    verifier = build_verifier("basic", (SECRET,), None, {})

    verifier.verify(basic_request(credentials(SECRET.encode())), 0.0)
    verifier.verify(basic_request(credentials(SECRET.encode())), NOW * 2)


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, MissingHeaderError),
        ("Bearer abc", MalformedRequestError),
        ("Basic", MalformedRequestError),
        ("Basic ***", MalformedRequestError),
        ("Basic \udcff", MalformedRequestError),
        (credentials(b"postmark:wrong"), SignatureMismatchError),
        (credentials(SECRET.encode() + b" "), SignatureMismatchError),
        (credentials(SECRET.encode()[:-1]), SignatureMismatchError),
        (credentials(b"\xff:\xfe"), SignatureMismatchError),
        (credentials(b"no-colon"), MalformedRequestError),
    ],
    ids=[
        "missing",
        "other-scheme",
        "no-credentials",
        "not-base64",
        "unencodable",
        "wrong-password",
        "longer",
        "prefix-of-secret",
        "binary",
        "no-colon",
    ],
)
def test_refusals(authorization: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("basic", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(basic_request(authorization), NOW)


@pytest.mark.parametrize(
    ("secrets", "options", "key"),
    [
        (("no-colon",), {}, "secrets"),
        ((), {}, "secrets"),
        (("a:b",), {"header": "X-Auth"}, "options.header"),
        (("a:b",), {"type_header": "X-T", "type_field": "t"}, "options.type_field"),
    ],
    ids=["not-user-password", "no-secrets", "unknown-option", "type-header-and-field"],
)
def test_config_errors(secrets: tuple[str, ...], options: dict[str, object], key: str) -> None:
    """Bad secrets or options are refused at build time, naming the key."""
    with pytest.raises(VerifierConfigError) as raised:
        build_verifier("basic", secrets, None, options)

    assert key == raised.value.key
