"""Secrets at rest: API keys are hashed, endpoint signing secrets encrypted.

API keys carry 32 random bytes, so a plain SHA-256 is enough (no password
stretching needed) and lets lookups use an index. Signing secrets must be read
back to sign deliveries, and subscriptions' static headers (an ``X-Api-Key`` value,
say) to send them, so both are encrypted with AES-256-GCM under a key derived
(HKDF-SHA256) from ``security.secret_key``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import UnreadableSecretError

API_KEY_PREFIX = "hg_"


def new_api_key() -> str:
    """A fresh API key: ``hg_`` and 43 url-safe characters (32 random bytes)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> bytes:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).digest()


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


class SecretBox:
    """Seals with a key derived from ``secret_key``; opens with it or a previous key.

    ``previous_keys`` are former ``security.secret_key`` values, still accepted for
    reading so that the key can be rotated: ``reseal`` moves a sealed value under the
    current key, after which the previous keys can be dropped.
    """

    def __init__(self, secret_key: str, previous_keys: Sequence[str] = ()) -> None:
        self._current = _aead(secret_key)
        self._previous = tuple(_aead(key) for key in previous_keys)

    def seal(self, plaintext: str) -> bytes:
        """Nonce and ciphertext of ``plaintext``, under the current key."""
        nonce = os.urandom(12)
        return nonce + self._current.encrypt(nonce, plaintext.encode(), None)

    def open(self, sealed: bytes) -> str:
        """The plaintext of ``sealed``; ``UnreadableSecretError`` if no key fits."""
        return self._open(sealed)[0]

    def reseal(self, sealed: bytes) -> bytes | None:
        """``sealed`` sealed anew under the current key, or None if it already is."""
        plaintext, current = self._open(sealed)
        return None if current else self.seal(plaintext)

    def _open(self, sealed: bytes) -> tuple[str, bool]:
        """The plaintext, and whether the current key opened it."""
        for aead in (self._current, *self._previous):
            try:
                plaintext = aead.decrypt(sealed[:12], sealed[12:], None).decode()
            except InvalidTag:
                continue
            return plaintext, aead is self._current
        raise UnreadableSecretError(
            "no configured key can read a stored secret: was security.secret_key changed "
            "without listing the old one in security.previous_secret_keys?"
        )


def _aead(secret_key: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hookgate endpoint secrets v1"
    ).derive(secret_key.encode())
    return AESGCM(key)
