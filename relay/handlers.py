"""Internal handlers: ``call: "pkg.mod:func"`` names an ``async def func(event)``.

Handlers are imported once when the worker starts, so a typo stops the start with
the key path instead of failing every delivery. A handler receives the stored
``storage.records.Event`` (raw ``body`` bytes, lower-case ``headers``); returning is
success, raising is a failed attempt retried like any other delivery.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence

from core.config import HandlerConfig
from relay.errors import HandlerConfigError
from storage.records import Event

Handler = Callable[[Event], Awaitable[object]]


def load_handlers(configs: Sequence[HandlerConfig]) -> Mapping[str, Handler]:
    """Each configured handler by name; ``HandlerConfigError`` names the first bad one."""
    return {config.name: _load(index, config.call) for index, config in enumerate(configs)}


def _load(index: int, call: str) -> Handler:
    module_name, _, attribute = call.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise HandlerConfigError(index, f"cannot import {module_name!r} ({e})") from e
    function = getattr(module, attribute, None)
    if function is None:
        raise HandlerConfigError(index, f"{module_name!r} has no {attribute!r}")
    if not inspect.iscoroutinefunction(function):
        raise HandlerConfigError(index, f"{call!r} is not an async function")
    handler: Handler = function
    return handler
