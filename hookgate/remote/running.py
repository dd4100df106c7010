"""What every remote command shares: its options, its output, how it runs and fails."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
import orjson

from core.durations import parse_duration
from hookgate.remote.client import Remote, RemoteError, open_remote

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_URL = "http://localhost:8080"
EXIT_ERROR = 1


def remote_options(command: F) -> F:
    """``--url``, ``--api-key`` and ``--json``, read from the environment too."""
    for option in (
        click.option(
            "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text."
        ),
        click.option(
            "--api-key",
            envvar="HOOKGATE_API_KEY",
            required=True,
            metavar="KEY",
            help="An API key (hg_…); default $HOOKGATE_API_KEY.",
        ),
        click.option(
            "--url",
            envvar="HOOKGATE_URL",
            default=DEFAULT_URL,
            show_default=True,
            metavar="URL",
            help="The hookgate to talk to; default $HOOKGATE_URL.",
        ),
    ):
        command = option(command)
    return command


def run_remote(url: str, api_key: str, work: Callable[[Remote], Awaitable[int]]) -> int:
    """Run ``work`` with a client of ``url`` until it ends or SIGINT/SIGTERM (exit 0);
    a ``RemoteError`` is one line on stderr and exit 1."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stopped = False

        def stop() -> None:
            nonlocal stopped
            stopped = True
            task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        try:
            async with open_remote(url, api_key) as remote:
                return await work(remote)
        except asyncio.CancelledError:
            if stopped:
                return 0
            raise

    try:
        return asyncio.run(main())
    except RemoteError as e:
        click.echo(f"hookgate: {e}", err=True)
        return EXIT_ERROR


def since_time(value: str | None) -> str | None:
    """``--since``: a duration ago (``2h``) or a time (RFC 3339), as RFC 3339 UTC."""
    if value is None:
        return None
    try:
        ago = parse_duration(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                "must be a duration (30m, 2h, 7d) or a time (2026-12-01T09:30:00Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    moment = datetime.now(UTC) - timedelta(seconds=ago)
    return moment.isoformat().replace("+00:00", "Z")


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows under ``headers``, columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def print_fields(item: dict[str, Any], names: Sequence[str]) -> None:
    """``name: value`` lines for ``names`` of ``item``."""
    width = max(len(name) for name in names)
    for name in names:
        click.echo(f"{name.ljust(width)}  {'' if item.get(name) is None else item[name]}")


def counted(count: int, one: str, many: str) -> str:
    """``count`` and the noun that agrees with it: ``1 delivery``, ``2 deliveries``."""
    return f"{count} {one if count == 1 else many}"


def short_time(value: str | None) -> str:
    """An RFC 3339 time to the second."""
    return "" if value is None else value[:19].replace("T", " ") + "Z"
