"""Standard Webhooks signatures: the one place that knows the scheme, both ways.

The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``. A ``v1``
signature is the base64 HMAC-SHA256 of it keyed by the base64-decoded ``whsec_``
secret; a ``v1a`` signature is its base64 Ed25519 signature under a ``whsk_`` private
key, checked with the matching ``whpk_`` public key. ``webhook-signature`` holds one
``version,signature`` entry per key, separated by spaces.

``StandardWebhooksSigner`` (and ``sign``/``generate_secret``) sign the gateway's own
outbound deliveries; ``ReceiverKeys`` is what the ``standard-webhooks``, ``svix`` and
``gitlab`` presets verify with. Both use the same ``signed_content`` and ``v1_digest``.
"""

from __future__ import annotations

import base64
import binascii
import secrets as random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifiers import digests
from verifiers.errors import SignatureMismatchError, VerifierConfigError
from verifiers.public_keys import Ed25519Key, any_valid

SYMMETRIC_PREFIX = "whsec_"
PRIVATE_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"

_SEED_BYTES = 32


def signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    """The bytes every Standard Webhooks signature covers.

    ``surrogatepass`` makes any header text encodable: a header carrying undecodable
    bytes then simply fails to match instead of raising.
    """
    return f"{msg_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body


def v1_digest(key: bytes, content: bytes) -> bytes:
    """The raw ``v1`` signature (HMAC-SHA256) of ``content`` under a decoded secret."""
    return digests.hmac_digest("sha256", key, content)


def decode_key(secret: str, prefix: str) -> bytes:
    """The bytes behind ``prefix`` + base64 (padding optional, as the SDKs accept).

    Raises ``VerifierConfigError`` on ``secrets`` when the text is not base64 or empty.
    """
    encoded = secret.removeprefix(prefix).rstrip("=")
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise VerifierConfigError("secrets", f"a {prefix}… value is not base64") from e
    if not raw:
        raise VerifierConfigError("secrets", f"a {prefix}… value is empty")
    return raw


def private_key(secret: str) -> Ed25519PrivateKey:
    """The Ed25519 key in a ``whsk_`` secret: a 32-byte seed, or seed + public key (64)."""
    raw = decode_key(secret, PRIVATE_KEY_PREFIX)
    if len(raw) not in (_SEED_BYTES, 2 * _SEED_BYTES):
        raise VerifierConfigError("secrets", "a whsk_… key must hold 32 or 64 bytes")
    key = Ed25519PrivateKey.from_private_bytes(raw[:_SEED_BYTES])
    if len(raw) > _SEED_BYTES and raw[_SEED_BYTES:] != _public_bytes(key):
        raise VerifierConfigError("secrets", "a whsk_… key's public half does not match its seed")
    return key


def public_key(secret: str) -> Ed25519Key:
    """The Ed25519 public key in a ``whpk_`` secret."""
    return Ed25519Key.from_raw(decode_key(secret, PUBLIC_KEY_PREFIX))


@dataclass(frozen=True, slots=True)
class ReceivedSignatures:
    """The decoded entries of a ``webhook-signature`` header, by scheme."""

    v1: tuple[bytes, ...]
    v1a: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ReceiverKeys:
    """What a receiver checks signatures with: HMAC secrets and Ed25519 public keys."""

    hmac: tuple[bytes, ...]
    ed25519: tuple[Ed25519Key, ...]

    @classmethod
    def from_secrets(cls, secrets: Iterable[str]) -> ReceiverKeys:
        """Sort ``whsec_`` (or bare base64) secrets from ``whpk_`` public keys.

        A ``whsk_`` private key is refused: the receiver should only ever hold the
        public half.
        """
        hmac_keys: list[bytes] = []
        ed25519_keys: list[Ed25519Key] = []
        for secret in secrets:
            if secret.startswith(PRIVATE_KEY_PREFIX):
                raise VerifierConfigError(
                    "secrets", "a whsk_… private key: configure its whpk_… public key instead"
                )
            if secret.startswith(PUBLIC_KEY_PREFIX):
                ed25519_keys.append(public_key(secret))
            else:
                hmac_keys.append(decode_key(secret, SYMMETRIC_PREFIX))
        return cls(hmac=tuple(hmac_keys), ed25519=tuple(ed25519_keys))

    def require_match(self, content: bytes, received: ReceivedSignatures) -> None:
        """Raise ``SignatureMismatchError`` unless some signature matches some key."""
        if received.v1 and self.hmac:
            try:
                digests.require_match((v1_digest(k, content) for k in self.hmac), received.v1)
            except SignatureMismatchError:
                pass
            else:
                return
        if not any_valid(self.ed25519, received.v1a, content):
            raise SignatureMismatchError("no signature matched")


class StandardWebhooksSigner:
    """Signs outbound deliveries with every configured key (rotation: list old and new).

    ``whsec_`` secrets give ``v1`` entries, ``whsk_`` private keys ``v1a`` entries.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise VerifierConfigError("secrets", "required")
        self._hmac = tuple(
            decode_key(secret, SYMMETRIC_PREFIX)
            for secret in secrets
            if not secret.startswith((PRIVATE_KEY_PREFIX, PUBLIC_KEY_PREFIX))
        )
        if any(secret.startswith(PUBLIC_KEY_PREFIX) for secret in secrets):
            raise VerifierConfigError("secrets", "a whpk_… public key cannot sign")
        self._ed25519 = tuple(
            private_key(secret) for secret in secrets if secret.startswith(PRIVATE_KEY_PREFIX)
        )

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` header value for one delivery attempt."""
        content = signed_content(msg_id, str(timestamp), body)
        entries = [f"v1,{_b64(v1_digest(key, content))}" for key in self._hmac]
        entries += [f"v1a,{_b64(key.sign(content))}" for key in self._ed25519]
        return " ".join(entries)

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The three Standard Webhooks headers for one delivery attempt."""
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.sign(msg_id, timestamp, body),
        }


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The ``webhook-signature`` value: one entry per ``whsec_``/``whsk_`` key."""
    return StandardWebhooksSigner(secrets).sign(msg_id, timestamp, body)


def generate_secret() -> str:
    """A new symmetric signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SYMMETRIC_PREFIX + _b64(random.token_bytes(32))


def generate_key_pair() -> tuple[str, str]:
    """A new ``(whsk_…, whpk_…)`` Ed25519 pair; the private half is seed + public key."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    public = _public_bytes(key)
    return PRIVATE_KEY_PREFIX + _b64(seed + public), PUBLIC_KEY_PREFIX + _b64(public)


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
