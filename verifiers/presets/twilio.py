"""Twilio: ``X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + params))``.

The signed string starts with the externally visible URL Twilio requested
(``Request.url``, query string included). For a form POST each body parameter is
appended as ``name + value``, sorted by name, with repeated values sorted and
de-duplicated exactly as ``twilio.request_validator.RequestValidator`` does. For a
JSON body Twilio adds ``bodySHA256=<hex sha256(body)>`` to the URL and signs the URL
alone; the body hash is then checked separately. Like the SDK, the URL is tried both
with and without its port (``:443``/``:80`` added or the explicit port removed),
because Twilio's own signing is inconsistent about it.

Twilio's webhook SharedKeys name their algorithm in
``X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256``; the secret is
then the SharedKey secret. ``HMAC_SHA1`` (the Auth Token signature) is the default;
any other algorithm is refused as unsupported.

Options: none. Secrets: the account's Auth Token (or the SharedKey secret).

No timestamp, so no tolerance. Event id: the ``I-Twilio-Idempotency-Token`` header
(the same on Twilio's retries), else None. Type: None (Twilio implies it by the
endpoint; status fields such as ``MessageStatus`` stay in the body).
"""

from __future__ import annotations

import hashlib
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlsplit

from verifiers.digests import decode_base64, decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, UnsupportedVersionError
from verifiers.model import Preset, Request, Settings, Verified

ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
DEFAULT_PORTS = {"https": 443, "http": 80}


class TwilioVerifier:
    """Checks Twilio's URL-and-parameters HMAC."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature matches one of the secrets."""
        header = request.require("x-twilio-signature")
        signature = decode_base64(header.strip())
        algorithm = signature_algorithm(request.header("x-twilio-webhooks-signature-settings"))
        url = parse_url(request.url)
        params = signed_params(request, url)
        messages = [(candidate + params).encode() for candidate in port_variants(url)]
        require_match(
            (hmac_digest(algorithm, key, message) for key in self._keys for message in messages),
            [signature],
        )
        return Verified(event_id=request.header("i-twilio-idempotency-token"))


def signature_algorithm(settings_header: str | None) -> str:
    """The hash named by ``X-Twilio-Webhooks-Signature-Settings`` (sha1 when absent)."""
    for part in (settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            algorithm = ALGORITHMS.get(value.strip().upper())
            if algorithm is None:
                raise UnsupportedVersionError("unsupported twilio signature algorithm")
            return algorithm
    return "sha1"


def parse_url(url: str) -> SplitResult:
    """``url`` split into parts, refusing one that is not text or whose port cannot be read."""
    try:
        url.encode()
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as e:  # UnicodeEncodeError included
        raise MalformedRequestError("request URL cannot be parsed") from e
    if not parts.scheme or not parts.netloc:
        raise MalformedRequestError("request URL must be absolute")
    return parts


def port_variants(url: SplitResult) -> tuple[str, ...]:
    """The URL without its port and with it (the default port added when absent)."""
    host = url.netloc.rpartition(":")[0] if url.port is not None else url.netloc
    port = url.port if url.port is not None else DEFAULT_PORTS.get(url.scheme, 80)
    without = url._replace(netloc=host).geturl()
    with_port = url._replace(netloc=f"{host}:{port}").geturl()
    return (without,) if without == with_port else (without, with_port)


def signed_params(request: Request, url: SplitResult) -> str:
    """The ``name+value`` tail of the signed string; checks ``bodySHA256`` for JSON bodies."""
    body_hash = parse_qs(url.query).get("bodySHA256")
    if body_hash:
        require_match([hashlib.sha256(request.body).digest()], [decode_hex(body_hash[0])])
        return ""
    return "".join(
        name + value
        for name, values in sorted(form_fields(request.body).items())
        for value in sorted(values)
    )


def form_fields(body: bytes) -> dict[str, set[str]]:
    """The URL-encoded form in ``body``, each name with its set of values."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedRequestError("body is not a UTF-8 URL-encoded form") from e
    fields: dict[str, set[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, set()).add(value)
    return fields


PRESET = Preset(
    name="twilio",
    build=TwilioVerifier,
    summary="X-Twilio-Signature base64 HMAC-SHA1 of the public URL plus sorted form params",
)
