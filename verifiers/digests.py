"""HMAC digests, signature decoding and constant-time matching."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

from verifiers.errors import MalformedRequestError, SignatureMismatchError

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hmac_digest(algorithm: str, key: bytes, message: bytes) -> bytes:
    """The raw HMAC of ``message`` under ``key`` with ``algorithm`` (sha1/256/512)."""
    return hmac.new(key, message, ALGORITHMS[algorithm]).digest()


def decode_hex(value: str) -> bytes:
    """Decode a hex signature, or raise ``MalformedRequestError``."""
    try:
        return bytes.fromhex(value)
    except ValueError as e:
        raise MalformedRequestError("signature is not hex") from e


def decode_base64(value: str) -> bytes:
    """Decode a standard (padded) base64 signature, or raise ``MalformedRequestError``."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as e:
        raise MalformedRequestError("signature is not base64") from e


def decode(value: str, encoding: str) -> bytes:
    """Decode ``value`` as ``hex`` or ``base64``."""
    return decode_hex(value) if encoding == "hex" else decode_base64(value)


def require_match(expected: Iterable[bytes], received: Iterable[bytes]) -> None:
    """Raise ``SignatureMismatchError`` unless some received signature equals some expected one.

    Every pair is compared with ``hmac.compare_digest`` so the time taken does not
    reveal how much of a forged signature was right.
    """
    wanted = list(expected)
    for candidate in received:
        for digest in wanted:
            if hmac.compare_digest(digest, candidate):
                return
    raise SignatureMismatchError("no signature matched")
