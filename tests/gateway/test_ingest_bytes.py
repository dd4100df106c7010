"""Validly signed events are stored whatever bytes they carry — on both backends.

Header values with bytes that are not UTF-8 (aiohttp hands them over as surrogate
escapes), NULs and odd JSON types in the fields the id and type come from: every one
is answered 2xx and stored with its exact body, never refused with a 5xx. The
requests go through a raw socket, since aiohttp's client refuses such header bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway import state
from storage.records import Event
from tests.gateway.conftest import MakeClient
from tests.signing import SECRET, mac

# Id and type from the body (HMAC of the body), or from headers.
SOURCES = [
    {
        "name": "fuzz-body",
        "verifier": "hmac",
        "secrets": [SECRET],
        "options": {"header": "X-Signature", "id_field": "id", "type_field": "type"},
    },
    {
        "name": "fuzz-headers",
        "verifier": "hmac",
        "secrets": [SECRET],
        "options": {"header": "X-Signature", "id_header": "x-id", "type_header": "x-type"},
    },
]


@dataclass(frozen=True)
class Answer:
    """A raw HTTP response: status and body."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


async def post_raw(
    client: TestClient[Any, Any], path: str, body: bytes, headers: Mapping[bytes, bytes]
) -> Answer:
    """POST ``body`` with exactly these header bytes, signed for the ``fuzz-*`` sources."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    lines = [
        b"POST " + path.encode() + b" HTTP/1.1",
        b"Host: hooks.example.com",
        b"Connection: close",
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(body)).encode(),
        b"X-Signature: " + mac("sha256", body).hex().encode(),
        *(name + b": " + value for name, value in headers.items()),
    ]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, payload = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        payload = _unchunked(payload)
    return Answer(status, payload)


def _unchunked(payload: bytes) -> bytes:
    out = b""
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        payload = rest[size + 2 :]
    return out


async def stored_event(client: TestClient[Any, Any], answer: Answer) -> Event:
    """The event a 2xx answer names, with its body."""
    assert 200 <= answer.status < 300, answer.body
    storage = client.app[state.STORAGE]
    event: Event = await storage.events.get(answer.json()["id"])
    return event


def header_bytes(event: Event, name: str) -> bytes:
    """The bytes header ``name`` arrived with, as the stored event gives them back."""
    value = event.headers[name]
    return value.encode("latin-1" if name in event.latin1_headers else "utf-8")


async def test_non_utf8_header_is_stored_with_its_exact_bytes(make_client: MakeClient) -> None:
    """``X-Forwarded-For: caf\\xe9`` is stored, the API lists it as Latin-1 and gives the
    bytes back; a UTF-8 header beside it stays as it was."""
    client = await make_client(sources=SOURCES)
    body = orjson.dumps({"id": "evt_latin1", "type": "invoice.paid"})
    headers = {b"X-Forwarded-For": b"caf\xe9", b"X-Note": "café".encode()}

    answer = await post_raw(client, "/ingest/fuzz-body", body, headers)
    event = await stored_event(client, answer)

    assert 202 == answer.status
    assert (b"caf\xe9", "café") == (header_bytes(event, "x-forwarded-for"), event.headers["x-note"])
    assert ("x-forwarded-for",) == event.latin1_headers
    assert body == event.body


async def test_nul_in_type_and_id_is_stored(make_client: MakeClient) -> None:
    """A NUL in the type becomes U+FFFD; an id holding a NUL becomes ``sha256:`` and the
    digest of its bytes, so a repeat is still recognised."""
    client = await make_client(sources=SOURCES)
    body = orjson.dumps({"id": "evt\x00nul", "type": "invoice\x00paid"})

    answer = await post_raw(client, "/ingest/fuzz-body", body, {})
    again = await post_raw(client, "/ingest/fuzz-body", body, {})
    event = await stored_event(client, answer)

    assert (202, 200) == (answer.status, again.status)
    assert "invoice\ufffdpaid" == event.type
    expected_id = "sha256:" + hashlib.sha256(b"evt\x00nul").hexdigest()
    assert (expected_id, body) == (event.provider_event_id, event.body)


async def test_non_utf8_id_and_type_headers_are_stored(make_client: MakeClient) -> None:
    """An id and a type read from headers holding bytes that are not UTF-8."""
    client = await make_client(sources=SOURCES)
    headers = {b"X-Id": b"id-\xff\xfe", b"X-Type": b"ping\xe9"}

    answer = await post_raw(client, "/ingest/fuzz-headers", b"{}", headers)
    event = await stored_event(client, answer)

    assert ("sha256:" + hashlib.sha256(b"id-\xff\xfe").hexdigest(), "ping\ufffd") == (
        event.provider_event_id,
        event.type,
    )
    assert b"ping\xe9" == header_bytes(event, "x-type")


async def test_api_shows_latin1_headers(make_client: MakeClient) -> None:
    """``GET /api/v1/events/{id}`` names the Latin-1 headers beside their values."""
    client = await make_client(sources=SOURCES)
    answer = await post_raw(client, "/ingest/fuzz-body", b"[]", {b"X-Forwarded-For": b"\xe9t\xe9"})
    _, api_key = await client.app[state.STORAGE].users.create("Ops", "ops@x.io", "admin")

    response = await client.get(
        f"/api/v1/events/{answer.json()['id']}", headers={"Authorization": f"Bearer {api_key}"}
    )
    shown = await response.json()

    assert (200, ["x-forwarded-for"], "été") == (
        response.status,
        shown["latin1_headers"],
        shown["headers"]["x-forwarded-for"],
    )


# Field-value bytes: visible ASCII, space, tab and obs-text; now and then a control byte
# (the parser may refuse the request with a 400, never with a 5xx).
value_bytes = st.binary(max_size=40).map(
    lambda raw: bytes(b if b >= 0x20 or b == 0x09 else 0x80 | b for b in raw)
) | st.binary(max_size=10)
header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.text(alphabet="\x00a\u00e9\ufffd.", max_size=10)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
bodies = (
    st.fixed_dictionaries({}, optional={"id": documents, "type": documents, "data": documents}).map(
        orjson.dumps
    )
    | documents.map(orjson.dumps)
    | st.binary(max_size=64)
    | st.sampled_from(
        [
            b'{"id": "\\ud800", "type": "\\udfff\\u0000"}',
            b'{"id": 123456789012345678901234567890, "type": 1e400}',
            b'{"id": "%s", "type": "%s"}' % (b"i" * 300, b"t" * 300),
        ]
    )
)


@pytest.fixture
async def fuzz_client(make_client: MakeClient) -> TestClient[Any, Any]:
    """One gateway for every example of a fuzz run."""
    client: TestClient[Any, Any] = await make_client(sources=SOURCES)
    return client


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=st.sampled_from(["fuzz-body", "fuzz-headers"]),
    body=bodies,
    extra=st.dictionaries(header_names, value_bytes, max_size=4),
    id_and_type=st.tuples(value_bytes, value_bytes),
)
async def test_signed_requests_with_any_bytes_are_stored(
    fuzz_client: TestClient[Any, Any],
    source: str,
    body: bytes,
    extra: dict[str, bytes],
    id_and_type: tuple[bytes, bytes],
) -> None:
    """Correctly signed requests with random header bytes and bodies: never a 5xx, and
    every event acknowledged is stored with its exact body and header bytes."""
    headers = {b"x-f-" + name.encode(): value for name, value in extra.items()}
    headers[b"X-Id"], headers[b"X-Type"] = id_and_type

    answer = await post_raw(fuzz_client, f"/ingest/{source}", body, headers)

    event(f"answered {answer.status}")
    assert answer.status < 500, answer.body
    if answer.status >= 300:
        assert 400 == answer.status, answer.body
        return
    stored = await stored_event(fuzz_client, answer)
    if answer.json()["duplicate"]:
        return
    assert body == stored.body
    for name, value in headers.items():
        assert value.strip(b" \t") == header_bytes(stored, name.decode().lower())
