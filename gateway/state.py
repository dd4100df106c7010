"""Typed application keys: what the app factory puts on the app for handlers."""

from __future__ import annotations

from aiohttp import web

from core.config import Config
from core.queue import Queue
from core.wakeups import Wakeups
from gateway.dispatch import DispatchQueue
from gateway.fetch import Fetcher
from gateway.metrics import GatewayMetrics
from gateway.sources import SourceRuntime
from storage import Storage

CONFIG = web.AppKey("config", Config)
METRICS = web.AppKey("metrics", GatewayMetrics)
SOURCES = web.AppKey("sources", dict[str, SourceRuntime])
STORAGE = web.AppKey("storage", Storage)
QUEUE = web.AppKey("queue", Queue)
DISPATCH = web.AppKey("dispatch", DispatchQueue)
FETCHER = web.AppKey("fetcher", Fetcher)
WAKEUPS = web.AppKey("wakeups", Wakeups)
