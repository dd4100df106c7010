"""Typed keys of the API sub-application (the gateway's own are in ``gateway.state``)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.limits import KeyLimiter

LIMITER = web.AppKey("api_limiter", KeyLimiter)
OPENAPI = web.AppKey("api_openapi", bytes)
