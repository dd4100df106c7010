"""Logging as a process configures it: structlog events and standard-library records
(aiohttp, arq, asyncpg) come out through one pipeline, at one level."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).parents[2]
EMIT = """
import logging, structlog
from core.logs import configure_logging
configure_logging({level!r}, {log_format!r})
logging.getLogger("aiohttp.access").warning("from %s", "aiohttp")
logging.getLogger("arq.worker").info("arq info")
logging.getLogger("asyncpg").debug("asyncpg debug")
structlog.get_logger().warning("structlog_warning", delivery_id="d_1")
structlog.get_logger().info("structlog_info")
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("aiohttp.server").exception("handler failed")
"""


def emitted(level: str, log_format: str) -> list[str]:
    """The stdout lines of a fresh process that configures logging and logs a few events."""
    result = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", EMIT.format(level=level, log_format=log_format)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "" == result.stderr
    return result.stdout.splitlines()


def test_json_lines_for_stdlib_and_structlog_at_the_configured_level() -> None:
    """At ``warning`` each line is one JSON object; info and debug, of either kind, are not
    written; a stdlib exception is rendered inside its line."""
    lines = [orjson.loads(line) for line in emitted("warning", "json")]

    assert [
        ("warning", "from aiohttp", "aiohttp.access"),
        ("warning", "structlog_warning", None),
        ("error", "handler failed", "aiohttp.server"),
    ] == [(line["level"], line["event"], line.get("logger")) for line in lines]
    assert "d_1" == lines[1]["delivery_id"]
    assert "ValueError: boom" in lines[2]["exception"]
    assert all(line["timestamp"].endswith("Z") for line in lines)


@pytest.mark.parametrize("level", ["debug", "info"])
def test_lower_levels_let_library_records_through(level: str) -> None:
    """``info`` adds arq's info records and structlog's info events; ``debug`` adds debug."""
    events = [orjson.loads(line)["event"] for line in emitted(level, "json")]

    assert ("arq info" in events, "structlog_info" in events, "asyncpg debug" in events) == (
        True,
        True,
        level == "debug",
    )


def test_console_format_is_for_people() -> None:
    """``console`` writes readable lines (not JSON) for both kinds, with the logger's name."""
    lines = emitted("warning", "console")

    assert lines[0].endswith("[aiohttp.access]")
    assert "from aiohttp" in lines[0]
    assert "structlog_warning" in lines[1]
    assert "delivery_id=d_1" in lines[1]
    assert not lines[0].startswith("{")
