"""Public-key signatures (Ed25519, ECDSA P-256, RSA PKCS#1 v1.5) and their checking.

The counterpart of ``digests.require_match`` for schemes where the provider signs and
the source holds only a public key: every received signature is tried against every
key, and only ``cryptography``'s ``InvalidSignature`` means "no".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from verifiers.errors import SignatureMismatchError, VerifierConfigError


class PublicKey(Protocol):
    """A key that can tell whether ``signature`` is its signature of ``message``."""

    def accepts(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` verifies over ``message`` under this key."""
        ...


@dataclass(frozen=True, slots=True)
class Ed25519Key:
    """An Ed25519 public key (Discord, Standard Webhooks ``v1a``)."""

    key: Ed25519PublicKey

    @classmethod
    def from_raw(cls, raw: bytes) -> Ed25519Key:
        """The key from its 32 raw bytes; ``VerifierConfigError`` on ``secrets`` otherwise."""
        if len(raw) != 32:
            raise VerifierConfigError("secrets", "an Ed25519 public key must be 32 bytes")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    def accepts(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class EcdsaP256Key:
    """An ECDSA P-256 public key checking DER signatures over SHA-256 (SendGrid)."""

    key: ec.EllipticCurvePublicKey

    @classmethod
    def from_der(cls, der: bytes) -> EcdsaP256Key:
        """The key from DER SubjectPublicKeyInfo; ``VerifierConfigError`` if not P-256."""
        try:
            key = load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm) as e:
            raise VerifierConfigError("secrets", "not a DER public key") from e
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise VerifierConfigError("secrets", "not an ECDSA P-256 public key")
        return cls(key)

    def accepts(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` (DER) is this key's ECDSA-SHA256 signature of ``message``."""
        try:
            self.key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class RsaPkcs1Key:
    """An RSA public key checking PKCS#1 v1.5 signatures with a fixed hash (SNS)."""

    key: rsa.RSAPublicKey
    algorithm: hashes.HashAlgorithm

    def accepts(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's PKCS#1 v1.5 signature of ``message``."""
        try:
            self.key.verify(signature, message, padding.PKCS1v15(), self.algorithm)
        except InvalidSignature:
            return False
        return True


def any_valid(keys: Iterable[PublicKey], signatures: Sequence[bytes], message: bytes) -> bool:
    """True when some signature verifies under some key."""
    return any(key.accepts(signature, message) for key in keys for signature in signatures)


def require_valid(keys: Iterable[PublicKey], signatures: Sequence[bytes], message: bytes) -> None:
    """Raise ``SignatureMismatchError`` unless some signature verifies under some key."""
    if not any_valid(keys, signatures, message):
        raise SignatureMismatchError("no signature matched")
