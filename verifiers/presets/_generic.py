"""Parts shared by the generic presets (``hmac``, ``basic``, ``api-key``); not a preset itself.

Event id and type options, understood by all three:
    id_header (str, unset): header holding the event id.
    id_field (str, unset): dotted path to the event id in a JSON body, e.g. ``data.id``;
        a segment made of digits indexes a list (``0.eventId``).
    type_header (str, unset) and type_field (str, unset): the same for the event type.

Setting both the header and the field for the id (or for the type) is a config error.
When neither is set, or the header/field is absent from a request, the value is None
and the gateway falls back to a hash of the body and type ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping

from verifiers import options
from verifiers.errors import VerifierConfigError
from verifiers.model import Request, Verified
from verifiers.payload import field, parse_json

LOCATOR_OPTIONS = ("id_header", "id_field", "type_header", "type_field")

JsonPath = tuple[str | int, ...]


class EventLocator:
    """Reads a verified request's event id and type from the configured header or field."""

    def __init__(self, settings_options: Mapping[str, object]) -> None:
        self._id = _source(settings_options, "id")
        self._type = _source(settings_options, "type")
        self._needs_json = isinstance(self._id, tuple) or isinstance(self._type, tuple)

    def locate(self, request: Request) -> Verified:
        """The event id and type of ``request`` (None where not configured or absent)."""
        document = parse_json(request.body) if self._needs_json else None
        return Verified(
            event_id=_read(self._id, request, document),
            event_type=_read(self._type, request, document),
        )


def _source(settings_options: Mapping[str, object], what: str) -> str | JsonPath | None:
    """The header name or JSON path configured for ``what`` (``id`` or ``type``)."""
    header = options.optional_text(settings_options, f"{what}_header")
    dotted = options.optional_text(settings_options, f"{what}_field")
    if header is not None and dotted is not None:
        raise VerifierConfigError(f"options.{what}_field", f"set {what}_header or {what}_field")
    if dotted is None:
        return header
    steps = dotted.split(".")
    if not all(steps):
        raise VerifierConfigError(f"options.{what}_field", "must be a dotted path like data.id")
    return tuple(int(step) if step.isdecimal() else step for step in steps)


def _read(source: str | JsonPath | None, request: Request, document: object) -> str | None:
    """The value at ``source``: a header, a path in ``document``, or None."""
    if source is None:
        return None
    if isinstance(source, str):
        return request.header(source)
    return field(document, *source)
