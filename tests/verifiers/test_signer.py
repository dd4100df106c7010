"""Our Standard Webhooks signer: the published vector, and the SDKs accept our headers."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from nacl.signing import VerifyKey
from standardwebhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

from verifiers import VerifierConfigError
from verifiers.signer import (
    StandardWebhooksSigner,
    generate_key_pair,
    generate_secret,
    sign,
    signed_content,
)

# The fixed vector shared by the standard-webhooks and svix library tests (PROVIDERS.md §2.14).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = b'{"type":"invoice.paid","data":{"id":"in_1"}}'


def test_published_vector() -> None:
    """Signing the library vector's inputs gives the library vector's signature."""
    assert VECTOR_SIGNATURE == sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY, [VECTOR_SECRET])


def test_unpadded_secret_signs_like_the_sdk() -> None:
    """A secret without base64 padding is decoded as the SDK decodes it."""
    secret = "whsec_" + base64.b64encode(b"k" * 31).decode().rstrip("=")
    expected = StandardWebhook(secret).sign(VECTOR_ID, datetime.fromtimestamp(VECTOR_TS, UTC), "x")

    assert expected == sign(VECTOR_ID, VECTOR_TS, b"x", [secret])


@pytest.mark.parametrize("sdk_secret", [0, 1], ids=["old-secret", "new-secret"])
def test_standardwebhooks_sdk_accepts_our_rotated_headers(sdk_secret: int) -> None:
    """Signed with two secrets (and an Ed25519 key), either secret alone verifies in the SDK."""
    secrets = [generate_secret(), generate_secret()]
    private, _ = generate_key_pair()
    headers = StandardWebhooksSigner([*secrets, private]).headers("msg_1", int(time.time()), BODY)

    parsed = StandardWebhook(secrets[sdk_secret]).verify(BODY, headers)

    assert "invoice.paid" == parsed["type"]


@pytest.mark.parametrize("prefix", ["webhook-", "svix-"])
def test_svix_sdk_accepts_our_headers(prefix: str) -> None:
    """The Svix SDK verifies our headers unchanged, and renamed to ``svix-*``."""
    secret = generate_secret()
    headers = StandardWebhooksSigner([secret]).headers("msg_2", int(time.time()), BODY)
    renamed = {prefix + name.removeprefix("webhook-"): value for name, value in headers.items()}

    assert SvixWebhook(secret).verify(BODY, renamed) is None


def test_v1a_entry_verifies_with_pynacl() -> None:
    """The ``v1a`` entry is an Ed25519 signature PyNaCl accepts under the ``whpk_`` key."""
    private, public = generate_key_pair()
    header = sign("msg_3", VECTOR_TS, BODY, [private])
    version, _, signature = header.partition(",")
    key = VerifyKey(base64.b64decode(public.removeprefix("whpk_")))

    key.verify(signed_content("msg_3", str(VECTOR_TS), BODY), base64.b64decode(signature))
    assert "v1a" == version


def test_seed_only_private_key_signs_like_the_full_key() -> None:
    """A ``whsk_`` key holding only the 32-byte seed gives the same signature."""
    private, _ = generate_key_pair()
    seed = base64.b64decode(private.removeprefix("whsk_"))[:32]
    seed_only = "whsk_" + base64.b64encode(seed).decode()

    assert sign("m", 1, BODY, [private]) == sign("m", 1, BODY, [seed_only])


def test_one_entry_per_key_in_order() -> None:
    """Each secret gives its own entry: ``v1`` for ``whsec_``, then ``v1a`` for ``whsk_``."""
    private, _ = generate_key_pair()
    header = sign("m", 1, BODY, [private, generate_secret(), generate_secret()])

    assert ["v1", "v1", "v1a"] == [entry.split(",")[0] for entry in header.split(" ")]


def test_generated_secret_is_whsec_and_32_random_bytes() -> None:
    """``generate_secret`` gives ``whsec_`` + base64 of 32 bytes, different each time."""
    first, second = generate_secret(), generate_secret()

    assert (True, 32) == (
        first.startswith("whsec_"),
        len(base64.b64decode(first.removeprefix("whsec_"))),
    )
    assert first != second


@pytest.mark.parametrize(
    "secrets",
    [
        [],
        ["whsec_***"],
        ["whsec_"],
        ["whpk_" + base64.b64encode(b"p" * 32).decode()],
        ["whsk_" + base64.b64encode(b"s" * 33).decode()],
        ["whsk_" + base64.b64encode(b"s" * 64).decode()],
    ],
    ids=["none", "not-base64", "empty", "public-key", "wrong-length", "mismatched-halves"],
)
def test_unusable_keys_are_config_errors(secrets: list[str]) -> None:
    """Keys that cannot sign are refused when the signer is built."""
    with pytest.raises(VerifierConfigError):
        StandardWebhooksSigner(secrets)
