"""Logging configured once, at the entrypoint: structlog for hookgate's own events, and
the standard library's loggers (aiohttp, arq, asyncpg) routed through the same
processors, level and output.

``json`` (the default) writes one JSON line per event; hookgate's own events skip the
standard library entirely (orjson straight to the bytes stream, once per request), and
a stdlib record becomes the same kind of line through structlog's
``ProcessorFormatter``. ``console`` renders both with structlog's ``ConsoleRenderer``
for people at a terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

from core.config import LogFormat, LogLevel

# Libraries whose loggers may have been given handlers or levels of their own (arq's
# CLI does): reset so that the root handler and level decide for them too.
LIBRARY_LOGGERS = ("aiohttp", "arq", "asyncpg")


def configure_logging(
    level: LogLevel = "info", log_format: LogFormat = "json", *, stream: TextIO | None = None
) -> None:
    """Send every log event at ``level`` or above to ``stream`` (stdout) as ``log_format``.

    Commands whose output is their result (``migrate``, ``users create --json``) pass
    ``sys.stderr`` so that a log line never mixes with what they print.
    """
    stream = sys.stdout if stream is None else stream
    threshold = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json_text)
        structlog.configure(
            processors=[
                *shared,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(threshold),
            logger_factory=structlog.BytesLoggerFactory(stream.buffer),
            cache_logger_on_first_use=True,
        )
    else:
        # Plain tracebacks: rich's would print every local variable, secrets included.
        renderer = structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        structlog.configure(
            processors=[*shared, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(threshold),
            logger_factory=structlog.WriteLoggerFactory(stream),
            cache_logger_on_first_use=True,
        )
    _route_standard_library(stream, threshold, shared, renderer, log_format)


def _route_standard_library(
    stream: TextIO,
    threshold: int,
    shared: list[Processor],
    renderer: Processor,
    log_format: LogFormat,
) -> None:
    """One root handler formatting stdlib records with structlog's processors."""
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        final.append(structlog.processors.format_exc_info)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[*final, renderer],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.setLevel(logging.NOTSET)
        library.propagate = True


def _json_text(event: Any, **options: Any) -> str:
    """orjson for ``logging.Formatter``, which must return text."""
    return orjson.dumps(event, **options).decode()
