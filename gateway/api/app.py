"""``create_api``: the ``/api/v1`` sub-application, as a table of contents.

The gateway mounts it with ``app.add_subapp("/api/v1", create_api(config))``; its
handlers read the gateway's storage, queue and config through ``request.config_dict``,
and the gateway's middlewares (request log, problem+json) wrap them.
"""

from __future__ import annotations

import inspect

import orjson
from aiohttp import web

from core.config import Config
from gateway.api import (
    deliveries,
    document,
    events,
    jobs,
    sources,
    stats,
    stream,
    subscriptions,
    users,
)
from gateway.api import state as api_state
from gateway.api.limits import KeyLimiter
from gateway.api.openapi import build_document
from gateway.api.operations import endpoint

PREFIX = "/api/v1"
RESOURCES = (users, subscriptions, events, deliveries, jobs, sources, stats, stream, document)
OPERATIONS = tuple(operation for resource in RESOURCES for operation in resource.OPERATIONS)


def create_api(config: Config) -> web.Application:
    """The API app: every operation routed, the OpenAPI document built, a rate limiter
    per key (``api.rate_limit_per_s``/``api.rate_limit_burst``)."""
    api = web.Application()
    api[api_state.LIMITER] = KeyLimiter(config.api.rate_limit)
    for operation in OPERATIONS:
        api.router.add_route(
            operation.method, operation.path, endpoint(operation), name=operation.name
        )
    tags = {resource.TAG: _markdown(resource.__doc__ or "") for resource in RESOURCES}
    server_url = f"{config.server.public_url.rstrip('/')}{PREFIX}"
    api[api_state.OPENAPI] = orjson.dumps(build_document(OPERATIONS, tags, server_url))
    return api


def _markdown(docstring: str) -> str:
    return inspect.cleandoc(docstring).replace("``", "`")
