"""GitHub preset: docs vector, githubkit-made signatures, and refusals."""

from __future__ import annotations

import pytest
from githubkit.webhooks import sign as githubkit_sign

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    VerificationError,
    build_verifier,
)

NOW = 1_700_000_000.0
SECRET = "It's a Secret to Everybody"


def github_request(body: bytes, signature: str | None, **extra: str) -> Request:
    """A GitHub delivery with the given signature header."""
    headers = {
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-github-event": "push",
    }
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    headers.update(extra)
    return Request(body=body, headers=headers)


def test_docs_vector_is_accepted_with_id_and_type() -> None:
    """GitHub's published example verifies and yields the delivery GUID and event name."""
    verifier = build_verifier("github", (SECRET,), None, {})
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    verified = verifier.verify(github_request(b"Hello, World!", signature), NOW)

    assert ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "push") == (
        verified.event_id,
        verified.event_type,
    )


def test_githubkit_signature_is_accepted_under_rotation() -> None:
    """A signature made by githubkit with the new secret passes while the old one is listed."""
    body = b'{"zen": "Keep it logically awesome."}'
    signature = githubkit_sign("new-secret", body, method="sha256")
    verifier = build_verifier("github", ("old-secret", "new-secret"), None, {})

    assert "push" == verifier.verify(github_request(body, signature), NOW).event_type


def test_legacy_sha1_only_when_enabled() -> None:
    """A SHA-1-only delivery passes only with ``legacy_sha1: true``."""
    body = b"{}"
    request = github_request(
        body, None, **{"x-hub-signature": githubkit_sign(SECRET, body, "sha1")}
    )

    with pytest.raises(MissingHeaderError):
        build_verifier("github", (SECRET,), None, {}).verify(request, NOW)
    build_verifier("github", (SECRET,), None, {"legacy_sha1": True}).verify(request, NOW)


@pytest.mark.parametrize(
    ("body", "signature", "error"),
    [
        (b"Hello, World?", None, MissingHeaderError),
        (
            b"Hello, World!",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            MalformedRequestError,
        ),
        (b"Hello, World!", "sha256=zz", MalformedRequestError),
        (
            b"Hello, World?",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            SignatureMismatchError,
        ),
        (b"Hello, World!", "sha256=" + "0" * 64, SignatureMismatchError),
    ],
    ids=["missing", "wrong-prefix", "not-hex", "tampered-body", "wrong-signature"],
)
def test_refusals(body: bytes, signature: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("github", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(github_request(body, signature), NOW)
