"""HMAC digests, signature decoding and constant-time matching."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
from collections.abc import Iterable, Sequence

from verifiers.errors import MalformedRequestError, SignatureMismatchError

ALGORITHMS = frozenset({"sha1", "sha256", "sha512"})


def hmac_digest(algorithm: str, key: bytes, message: bytes) -> bytes:
    """The raw HMAC of ``message`` under ``key`` with ``algorithm`` (sha1/256/512).

    ``hmac.digest`` is OpenSSL's one-shot HMAC: no Python HMAC object per call.
    """
    return hmac.digest(key, message, algorithm)


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


def decodable(values: Iterable[str], encoding: str = "hex") -> list[bytes]:
    """The values that decode as ``encoding``; ``MalformedRequestError`` if none does.

    The SDKs compare strings, so one junk entry beside a good one does not fail a
    request; it just cannot match.
    """
    decoded: list[bytes] = []
    for value in values:
        with contextlib.suppress(MalformedRequestError):
            decoded.append(decode(value, encoding))
    if not decoded:
        raise MalformedRequestError(f"no signature is {encoding}")
    return decoded


def matching_key(keys: Sequence[bytes], message: bytes, signature: bytes) -> bytes:
    """The key whose HMAC-SHA256 of ``message`` is ``signature`` (else a mismatch error).

    For handshakes that must answer with the secret that verified the request.
    """
    for key in keys:
        with contextlib.suppress(SignatureMismatchError):
            require_match([hmac_digest("sha256", key, message)], [signature])
            return key
    raise SignatureMismatchError("no signature matched")


def text_bytes(value: str, what: str) -> bytes:
    """Header or URL text as UTF-8 bytes, or ``MalformedRequestError`` naming ``what``.

    aiohttp decodes undecodable header bytes as surrogates, which ``str.encode`` refuses.
    """
    try:
        return value.encode()
    except UnicodeEncodeError as e:
        raise MalformedRequestError(f"{what} is not valid text") from e
