"""Every preset, any input: a verifier returns facts or raises its typed error, nothing else."""

from __future__ import annotations

import base64
import inspect
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifiers import PRESETS, Request, VerificationError, Verified, build_verifier

NOW = 1_700_000_000.0
HMAC_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
# Settings that build each preset; presets not listed take (HMAC_SECRET,) and no options.
SETTINGS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "discord": (("f40c3c6aa4273d6e6e27c5891f12128a2cf0b2c64ef5f0a6556e1af6db5ab856",), {}),
    "sendgrid": (
        (
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnMuw/8FMhJx/pLUrNeZvJmjpsrWyQ0iW26rJ6rLEvcMCI7qze9Ms"
            "8a/0L7jbYmQJk8TXHIrk8IyHv6GqExpU6A==",
        ),
        {},
    ),
    "sns": ((), {}),
    "basic": (("admin:hunter22",), {"id_field": "id", "type_header": "x-type"}),
    "api-key": (("s3cret-token-value",), {"prefix": "Bearer ", "header": "authorization"}),
    "hmac": (
        (HMAC_SECRET,),
        {
            "header": "x-signature",
            "template": "{timestamp}.{id}.{url}.{body}",
            "timestamp_header": "x-timestamp",
            "id_header": "x-id",
            "encoding": "base64",
            "prefix": "sha256=",
        },
    ),
    "gitlab": ((HMAC_SECRET,), {"mode": "signed"}),
}
STANDARD_WEBHOOKS_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
)
GENERIC_HEADERS = ("authorization", "x-signature", "x-timestamp", "x-id", "content-type")
# Header-shaped values that reach deep into each scheme, and values that must not crash it.
SHAPES = (
    "1700000000",
    "v0=ab",
    "t=1700000000,v1=ab",
    "v1,YWJj",
    "sha256=ab",
    "ts=1700000000;h1=ab",
    "Bearer token",
    "Basic dXNlcjpwYXNzd29yZA==",
    "2023-11-14T22:13:20Z",
)
NASTY = (
    "",
    " ",
    "-5",
    "--5",
    "9" * 40,
    "1e999",
    "v1,",
    "v0=zz",
    "t=,v1=",
    "sha256=%%",
    "\udcff\udcfe",
    "é",
    "Basic !!!",
    "Bearer ",
    "YWJj====",
    "ts=--5;h1=ab",
    "t=--5,v1=ab",
    "2023-13-45T99:99:99Z",
    "0" * 200,
)


def header_names(name: str) -> tuple[str, ...]:
    """The header names preset ``name`` reads, taken from its own source."""
    module = sys.modules[PRESETS[name].build.__module__]
    quoted = re.findall(r'"([a-z][a-z0-9]*(?:-[a-z0-9]+)+)"', inspect.getsource(module))
    return tuple(dict.fromkeys([*quoted, *STANDARD_WEBHOOKS_HEADERS, *GENERIC_HEADERS]))


def outcome(name: str, request: Request) -> str:
    """``accepted`` or ``refused``; anything but a VerificationError propagates."""
    secrets, options = SETTINGS.get(name, ((HMAC_SECRET,), {}))
    try:
        build_verifier(name, secrets, None, options).verify(request, NOW)
    except VerificationError:
        return "refused"
    return "accepted"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_nasty_value_in_any_header_is_a_typed_refusal(name: str) -> None:
    """Each header the preset reads, set to each nasty value beside well-shaped others."""
    names = header_names(name)
    results = {
        outcome(name, Request(body=body, headers={**dict.fromkeys(names, shape), header: nasty}))
        for body in (b'{"id": "evt_1", "type": "t", "signature": {}}', b"\xff\x00")
        for shape in SHAPES
        for header in names
        for nasty in NASTY
    }
    assert {"refused"} == results


# aiohttp decodes undecodable header bytes as lone surrogates: include them.
header_text = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=["Cc"]), max_size=120),
    st.sampled_from(["", "1700000000", "-5", "--5", "9" * 30, "v1,", "v0=zz", "\udcff"]),
    st.builds(lambda t, s: f"t={t},v1={s}", st.integers(-(10**20), 10**20), st.text(max_size=70)),
    st.builds(lambda s: f"v1,{s} v1a,{s}", st.text(max_size=60)),
    st.builds(lambda b: "sha256=" + base64.b64encode(b).decode(), st.binary(max_size=40)),
)
json_body = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
).map(lambda doc: repr(doc).replace("'", '"').replace("None", "null").encode())
bodies = st.one_of(st.binary(max_size=300), json_body)


@pytest.mark.parametrize("name", sorted(PRESETS))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    data=st.data(),
    url=st.one_of(st.just("https://hooks.example.com/ingest/x?a=1"), st.text(max_size=60)),
)
def test_no_input_escapes_as_anything_but_a_verification_error(
    name: str, body: bytes, data: st.DataObject, url: str
) -> None:
    """Random bodies, headers and URLs never make a preset raise an untyped exception."""
    headers = data.draw(
        st.fixed_dictionaries({}, optional=dict.fromkeys(header_names(name), header_text))
    )
    secrets, options = SETTINGS.get(name, ((HMAC_SECRET,), {}))
    verifier = build_verifier(name, secrets, None, options)
    request = Request(body=body, headers=headers, url=url)
    try:
        outcome = verifier.verify(request, NOW)
    except VerificationError:
        return
    assert isinstance(outcome, Verified)
