"""Internal handlers: ``call: "pkg.mod:func"`` names an ``async def func(event)``.

Handlers are imported once when the worker starts (and by ``hookgate check-config``),
so a typo stops the start with the key path instead of failing every delivery. A
handler receives the stored ``storage.records.Event`` (raw ``body`` bytes, lower-case
``headers``); returning is success, raising is a failed attempt retried like any other
delivery. The module is imported from the worker's ``sys.path``: installed in the same
environment, or on ``PYTHONPATH``.
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


def handler_problems(configs: Sequence[HandlerConfig]) -> list[HandlerConfigError]:
    """Every configured handler that cannot be loaded, for ``check-config``."""
    problems = []
    for index, config in enumerate(configs):
        try:
            _load(index, config.call)
        except HandlerConfigError as e:
            problems.append(e)
    return problems


def _load(index: int, call: str) -> Handler:
    module_name, _, attribute = call.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise HandlerConfigError(
            index, f"cannot import {module_name!r} ({e}); is it installed or on PYTHONPATH?"
        ) from e
    function = getattr(module, attribute, None)
    if function is None:
        raise HandlerConfigError(index, f"{module_name!r} has no {attribute!r}")
    if not inspect.iscoroutinefunction(function):
        raise HandlerConfigError(index, f"{call!r} is not an async function")
    if not _takes_one_argument(function):
        raise HandlerConfigError(index, f"{call!r} must take one argument (the event)")
    handler: Handler = function
    return handler


def _takes_one_argument(function: Callable[..., object]) -> bool:
    """Whether ``function(event)`` is a valid call (defaults and ``*args`` allowed)."""
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        return False
    except ValueError:  # no signature to inspect (a builtin): let the call decide
        return True
    return True
