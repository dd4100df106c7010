"""Generic HMAC: a signature header over a configurable signed-content template.

The header holds ``prefix + encode(HMAC(secret, content))`` where ``content`` is
``template`` with its placeholders replaced:

    ``{body}``       the raw body
    ``{timestamp}``  the value of the ``timestamp_header`` header (integer unix seconds)
    ``{url}``        ``Request.url``, the externally visible URL
    ``{id}``         the value of the ``id_header`` header

Options:
    header (str, required): the signature header.
    algorithm (sha1 | sha256 | sha512, default sha256).
    encoding (hex | base64, default hex).
    prefix (str, default ""): text before the signature, e.g. ``sha256=``.
    template (str, default ``{body}``): the signed content; ``{{``/``}}`` are literal
        braces; any other placeholder is a config error.
    timestamp_header (str): required when the template uses ``{timestamp}``, and
        refused otherwise (an unsigned timestamp proves nothing).
    id_header, id_field, type_header, type_field: where the event id and type are;
        see ``verifiers.presets._generic``. ``{id}`` requires ``id_header``.

Default tolerance: 300 s, checked both ways, and only when the template signs
``{timestamp}``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from verifiers import options
from verifiers.digests import ALGORITHMS, decode, hmac_digest, require_match, text_bytes
from verifiers.errors import MalformedRequestError, VerifierConfigError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.presets._generic import LOCATOR_OPTIONS, EventLocator
from verifiers.timestamps import check_age, parse_seconds

PLACEHOLDERS = frozenset({"body", "timestamp", "url", "id"})

# Each part of a compiled template: literal bytes, then a placeholder name (or None).
Template = tuple[tuple[bytes, str | None], ...]


class HmacVerifier:
    """Checks an HMAC of a configured template in a configured header."""

    def __init__(self, settings: Settings) -> None:
        opts = settings.options
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._header = options.required_text(opts, "header")
        self._algorithm = options.choice(opts, "algorithm", ALGORITHMS, "sha256")
        self._encoding = options.choice(opts, "encoding", ("hex", "base64"), "hex")
        self._prefix = options.any_text(opts, "prefix")
        self._template = compile_template(options.text(opts, "template", "{body}"))
        used = {name for _, name in self._template}
        self._timestamp_header = timestamp_header(opts, "timestamp" in used)
        self._id_header = options.optional_text(opts, "id_header") if "id" in used else None
        if "id" in used and self._id_header is None:
            raise VerifierConfigError("options.id_header", "required when template uses {id}")
        self._signs_url = "url" in used
        self._tolerance_s = settings.tolerance_s
        self._locator = EventLocator(opts)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature matches one of the secrets."""
        value = request.require(self._header)
        if not value.startswith(self._prefix):
            raise MalformedRequestError(f"signature must start with {self._prefix!r}")
        signature = decode(value[len(self._prefix) :].strip(), self._encoding)
        content = self._content(request, now)
        require_match(
            (hmac_digest(self._algorithm, key, content) for key in self._keys),
            [signature],
        )
        return self._locator.locate(request)

    def _content(self, request: Request, now: float) -> bytes:
        """The signed content of ``request``; checks the timestamp when it is signed."""
        values: dict[str, bytes] = {"body": request.body}
        if self._timestamp_header is not None:
            timestamp = request.require(self._timestamp_header)
            check_age(parse_seconds(timestamp), now, self._tolerance_s, future_too=True)
            values["timestamp"] = text_bytes(timestamp, self._timestamp_header)
        if self._id_header is not None:
            values["id"] = text_bytes(request.require(self._id_header), "id")
        if self._signs_url:
            values["url"] = text_bytes(request.url, "request URL")
        return b"".join(
            literal + values[name] if name else literal for literal, name in self._template
        )


def timestamp_header(opts: Mapping[str, object], signed: bool) -> str | None:
    """Option ``timestamp_header``, required exactly when the template signs ``{timestamp}``."""
    value = options.optional_text(opts, "timestamp_header")
    if signed and value is None:
        raise VerifierConfigError("options.timestamp_header", "required by {timestamp}")
    if not signed and value is not None:
        raise VerifierConfigError("options.timestamp_header", "the template has no {timestamp}")
    return value


def compile_template(template: str) -> Template:
    """``template`` split into literal bytes and placeholder names; config errors otherwise."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise VerifierConfigError("options.template", "has unbalanced braces") from e
    parts: list[tuple[bytes, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            raise VerifierConfigError(
                "options.template", f"unknown placeholder (allowed: {allowed})"
            )
        parts.append((literal.encode(), name))
    return tuple(parts)


PRESET = Preset(
    name="hmac",
    build=HmacVerifier,
    summary="generic HMAC (sha1/256/512, hex/base64) of a template over body, timestamp, URL, id",
    options=(
        "header",
        "algorithm",
        "encoding",
        "prefix",
        "template",
        "timestamp_header",
        *LOCATOR_OPTIONS,
    ),
    default_tolerance_s=300.0,
)
