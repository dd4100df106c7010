"""``GET /openapi.json``: the OpenAPI document, built once when the API is created."""

from __future__ import annotations

from gateway.api import state as api_state
from gateway.api.openapi import OpenApiDocument
from gateway.api.operations import Call, Reply, Routes

TAG = "meta"


async def get_openapi(call: Call) -> Reply:
    """This API's OpenAPI 3.1 document. No API key needed."""
    return Reply(200, call.request.app[api_state.OPENAPI])


api = Routes(TAG)
OPERATIONS = (
    api.get("/openapi.json", get_openapi, "OpenAPI document", {200: OpenApiDocument}, role=None),
)
