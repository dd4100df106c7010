"""Typeform preset: stdlib ``sha256=``-prefixed base64 signatures, rotation, refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    VerificationError,
    Verified,
    build_verifier,
)

NOW = 1_700_000_000.0
SECRET = "typeform-secret"
BODY = (
    b'{"event_id": "01HF8CV3KZ0A4R1N1YCPV5SB4Q", "event_type": "form_response",'
    b' "form_response": {"form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15"}}'
)


def signature(secret: str, body: bytes) -> str:
    """Typeform's ``sha256=`` + base64 HMAC-SHA256 of the body, computed with the stdlib."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def typeform_request(body: bytes, header: str | None) -> Request:
    """A Typeform delivery with the given ``Typeform-Signature`` header."""
    headers = {} if header is None else {"typeform-signature": header}
    return Request(body=body, headers=headers)


@pytest.mark.parametrize("secrets", [(SECRET,), ("old-secret", SECRET)], ids=["one", "rotated"])
def test_signed_delivery_is_accepted_with_id_and_type(secrets: tuple[str, ...]) -> None:
    """A delivery verifies, also with its secret listed second; id and type from the body."""
    verifier = build_verifier("typeform", secrets, None, {})

    verified = verifier.verify(typeform_request(BODY, signature(SECRET, BODY)), NOW)

    assert Verified(event_id="01HF8CV3KZ0A4R1N1YCPV5SB4Q", event_type="form_response") == verified


GITHUB_STYLE = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, signature(SECRET, BODY).removeprefix("sha256="), MalformedRequestError),
        (BODY, "sha1=" + signature(SECRET, BODY)[7:], MalformedRequestError),
        (BODY, "sha256=***", MalformedRequestError),
        (BODY, GITHUB_STYLE, SignatureMismatchError),
        (BODY.replace(b"lT4Z3j", b"xxxxxx"), signature(SECRET, BODY), SignatureMismatchError),
        (BODY, signature("wrong", BODY), SignatureMismatchError),
    ],
    ids=[
        "missing",
        "no-prefix",
        "wrong-prefix",
        "not-base64",
        "hex-instead-of-base64",
        "tampered-body",
        "wrong-secret",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("typeform", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(typeform_request(body, header), NOW)
