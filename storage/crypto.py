"""Secrets at rest: API keys are hashed, endpoint signing secrets encrypted.

API keys carry 32 random bytes, so a plain SHA-256 is enough (no password
stretching needed) and lets lookups use an index. Signing secrets must be read
back to sign deliveries, so they are encrypted with AES-256-GCM under a key derived
(HKDF-SHA256) from ``security.secret_key``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import StorageError

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
    """Encrypts and decrypts endpoint secrets with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"hookgate endpoint secrets v1"
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str) -> bytes:
        """Nonce and ciphertext of ``plaintext``."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), None)

    def open(self, sealed: bytes) -> str:
        """The plaintext of ``sealed``; ``StorageError`` if the key does not fit."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], None).decode()
        except InvalidTag as e:
            raise StorageError(
                "cannot decrypt a stored secret: was security.secret_key changed?"
            ) from e
