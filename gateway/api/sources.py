"""``/sources``: the configured providers, read from the config (never their secrets)."""

from __future__ import annotations

from gateway.api.operations import Call, Reply, Routes
from gateway.api.schemas.sources import SourceOut, SourcePage

TAG = "sources"


async def list_sources(call: Call) -> Reply:
    """Every configured source with its ingest URL; secrets are only counted."""
    config = call.config
    items = [SourceOut.of(source, config.server.public_url) for source in config.sources]
    return Reply(200, SourcePage(data=items, next_cursor=None))


api = Routes(TAG)
OPERATIONS = (api.get("/sources", list_sources, "List sources", {200: SourcePage}),)
