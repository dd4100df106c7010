"""``/sources``: the configured providers, never their secrets."""

from __future__ import annotations

import orjson

from gateway.state import CONFIG
from tests.gateway.api.conftest import Api


async def test_sources_are_listed_without_secrets(api: Api) -> None:
    """Every configured source with its ingest URL; no secret value appears anywhere."""
    answer = await api.call("GET", "/sources", as_="member")

    sources = {source["name"]: source for source in answer.body["data"]}
    assert 200 == answer.status
    assert None is answer.body["next_cursor"]
    github = sources["src-github"]
    assert ("github", "https://hooks.example.com/ingest/src-github", 1) == (
        github["verifier"],
        github["ingest_url"],
        github["secret_count"],
    )
    raw = orjson.dumps(answer.body)
    for source in api.client.app[CONFIG].sources:
        for secret in source.secrets:
            assert secret.encode() not in raw
