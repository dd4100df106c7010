"""AWS SNS HTTP/S subscriptions: an RSA signature from a certificate AWS hosts.

The body is a JSON envelope. Its ``Signature`` (base64) is RSA PKCS#1 v1.5 over
``Key\\nValue\\n`` lines of a fixed field list, in this order:

    Notification:                  Message, MessageId, Subject (unless absent or null),
                                   Timestamp, TopicArn, Type
    Subscription/Unsubscribe-      Message, MessageId, SubscribeURL, Timestamp, Token,
    Confirmation:                  TopicArn, Type

with SHA1 for ``SignatureVersion`` 1 and SHA256 for 2. The key is in the X.509
certificate at ``SigningCertURL``, which must be https on an
``sns.<region>.amazonaws.com`` host with a ``.pem`` path; the verifier names that URL
in ``urls_to_fetch`` (``NeedsFetch``) and reads the PEM from ``Request.fetched``.

No secrets: AWS signs every topic in a region with the same certificate, so anyone's
topic can send this endpoint a genuine message. List yours in ``topic_arns``.

Options:
    topic_arns (list of str, default empty = any topic): the ``TopicArn`` values
        accepted; others are refused before the certificate is fetched.

Handshake: ``SubscriptionConfirmation`` -> 200, and the gateway must GET
``SubscribeURL`` (``Handshake.confirm_url``, also checked to be an AWS SNS https URL).

Tolerance: none by default (AWS documents no window, and retries under a delivery
policy keep the original ``Timestamp`` for hours); a source's ``tolerance_s`` turns on
a both-ways check of ``Timestamp`` (ISO 8601). Id: ``MessageId`` (the same on
retries). Type: ``Type``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from verifiers import options
from verifiers.digests import decode_base64
from verifiers.errors import (
    MalformedRequestError,
    MissingHeaderError,
    SignatureMismatchError,
    UnsupportedVersionError,
)
from verifiers.model import Handshake, Preset, Request, Settings, Verified
from verifiers.payload import parse_json
from verifiers.public_keys import RsaPkcs1Key, require_valid
from verifiers.timestamps import check_age

CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}
OPTIONAL_FIELDS = frozenset({"Subject"})
HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


def parse_message(body: bytes) -> dict[str, Any]:
    """The SNS envelope, or ``MalformedRequestError`` when it is not a JSON object."""
    message = parse_json(body)
    if not isinstance(message, dict):
        raise MalformedRequestError("body is not a JSON object")
    return message


def text_field(message: Mapping[str, Any], name: str) -> str:
    """A string field of the envelope; ``MissingHeaderError`` when absent."""
    value = message.get(name)
    if value is None:
        raise MissingHeaderError(f"{name} is missing")
    if not isinstance(value, str):
        raise MalformedRequestError(f"{name} is not a string")
    return value


def sns_url(message: Mapping[str, Any], name: str, *, certificate: bool) -> str:
    """URL field ``name`` if it is https on an AWS SNS host (and a ``.pem`` path for a cert)."""
    url = text_field(message, name)
    if not url.isascii() or any(char.isspace() or char == "\\" for char in url):
        raise MalformedRequestError(f"{name} is not an AWS SNS URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise MalformedRequestError(f"{name} is not an AWS SNS URL") from e
    trusted = (
        parts.scheme == "https"
        and port in (None, 443)
        and parts.username is None
        and parts.password is None
        and SNS_HOST.fullmatch(parts.hostname or "") is not None
    )
    if certificate:
        trusted = trusted and parts.path.endswith(".pem") and not parts.query
        trusted = trusted and not parts.fragment
    if not trusted:
        raise MalformedRequestError(f"{name} is not an AWS SNS URL")
    return url


def canonical_string(message: Mapping[str, Any], fields: tuple[str, ...]) -> bytes:
    """The ``Key\\nValue\\n`` lines SNS signs, from the unescaped JSON values."""
    lines = []
    for name in fields:
        if name in OPTIONAL_FIELDS and message.get(name) is None:
            continue
        lines.append(f"{name}\n{text_field(message, name)}\n")
    return "".join(lines).encode()


def certificate_key(pem: bytes, version: str) -> RsaPkcs1Key:
    """The RSA key of the fetched signing certificate, with the version's hash."""
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except (ValueError, UnsupportedAlgorithm) as e:
        raise MalformedRequestError("signing certificate is not a PEM certificate") from e
    if not isinstance(key, rsa.RSAPublicKey):
        raise MalformedRequestError("signing certificate does not hold an RSA key")
    return RsaPkcs1Key(key, HASHES[version]())


def parse_timestamp(value: str) -> float:
    """An ISO 8601 ``Timestamp`` as unix seconds (UTC when no offset is given)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise MalformedRequestError("Timestamp is not ISO 8601") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def topic_arns(settings: Settings) -> frozenset[str]:
    """Option ``topic_arns``: one ARN or a list of them."""
    return frozenset(options.texts(settings.options, "topic_arns"))


class SnsVerifier:
    """Checks an SNS envelope's RSA signature with the certificate fetched for it."""

    def __init__(self, settings: Settings) -> None:
        self._topics = topic_arns(settings)
        self._tolerance_s = settings.tolerance_s

    def urls_to_fetch(self, request: Request) -> tuple[str, ...]:
        """The signing certificate URL, once it is known to be an AWS SNS one."""
        return (self._certificate_url(parse_message(request.body)),)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the envelope if the fetched AWS certificate verifies its signature."""
        message = parse_message(request.body)
        kind = text_field(message, "Type")
        fields = SIGNED_FIELDS.get(kind)
        if fields is None:
            raise UnsupportedVersionError("unknown SNS message Type")
        url = self._certificate_url(message)
        pem = request.fetched.get(url)
        if pem is None:
            raise MissingHeaderError("signing certificate was not fetched")
        key = certificate_key(pem, text_field(message, "SignatureVersion"))
        signature = decode_base64(text_field(message, "Signature"))
        require_valid([key], [signature], canonical_string(message, fields))
        if self._tolerance_s is not None:
            sent_at = parse_timestamp(text_field(message, "Timestamp"))
            check_age(sent_at, now, self._tolerance_s, future_too=True)
        if kind == "SubscriptionConfirmation":
            confirm = sns_url(message, "SubscribeURL", certificate=False)
            return Verified(handshake=Handshake(status=200, confirm_url=confirm))
        return Verified(event_id=text_field(message, "MessageId"), event_type=kind)

    def _certificate_url(self, message: Mapping[str, Any]) -> str:
        if self._topics and text_field(message, "TopicArn") not in self._topics:
            raise SignatureMismatchError("TopicArn is not in options.topic_arns")
        if text_field(message, "SignatureVersion") not in HASHES:
            raise UnsupportedVersionError("SignatureVersion must be 1 or 2")
        return sns_url(message, "SigningCertURL", certificate=True)


PRESET = Preset(
    name="sns",
    build=SnsVerifier,
    summary="AWS SNS RSA signature (v1 SHA1 / v2 SHA256) with the cert from SigningCertURL",
    options=("topic_arns",),
    needs_secrets=False,
)
