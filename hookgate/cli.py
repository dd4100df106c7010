"""The ``hookgate`` command: click parses every command, this module runs them.

Local commands (``dev``, ``serve``, ``worker``, ``migrate``, ...) load the config and
act on storage; remote commands (``events``, ``deliveries``, ``tail``, ``listen``, in
``hookgate.remote``) talk to a running hookgate over its API and need no config.

Exit status: 0 on success, 1 on a runtime error (one line naming what is wrong, never
a traceback), 2 on bad usage or a bad config. Shell completion:
``eval "$(_HOOKGATE_COMPLETE=bash_source hookgate)"`` (or ``zsh_source``, ``fish_source``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import click
import uvloop

from core.config import Config, ConfigError, config_path, load_config
from core.logs import configure_logging
from hookgate import __version__, commands
from hookgate.connecting import redacted
from hookgate.remote.deliveries import deliveries
from hookgate.remote.events import events
from hookgate.remote.listen import listen
from hookgate.remote.tail import tail
from relay.errors import HandlerConfigError
from storage import StorageError

EXIT_CONFIG = 2
EXIT_RUNTIME = 1
Run = Callable[[Config], Coroutine[Any, Any, int]]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Config: --config PATH, else $HOOKGATE_CONFIG, else ./config.yaml.",
)
@click.option("--config", metavar="PATH", help="The config file (local commands only).")
@click.version_option(__version__, prog_name="hookgate", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Webhook gateway and delivery relay."""
    ctx.obj = config


def _local(ctx: click.Context, run: Run, *, long_running: bool = False) -> int:
    """Load the config, configure logging and run ``run``; errors as one line.

    Long-running commands log to stdout (their log lines are their output); the others
    print a result on stdout, so their log lines (a storage retry, say) go to stderr.
    """
    try:
        config = load_config(config_path(ctx.obj, os.environ))
    except ConfigError as e:
        return _config_problems(e.problems)
    configure_logging(
        config.logging.level,
        config.logging.format,
        stream=sys.stdout if long_running else sys.stderr,
    )
    try:
        return uvloop.run(run(config))
    except HandlerConfigError as e:
        return _config_problems([str(e)])
    except StorageError as e:
        click.echo(f"hookgate: storage ({redacted(config.storage_url)}): {e}", err=True)
        return EXIT_RUNTIME
    except commands.ListenError as e:
        click.echo(f"hookgate: {e}", err=True)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 130


def _config_problems(problems: Sequence[str]) -> int:
    click.echo("hookgate: the configuration has problems:", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    return EXIT_CONFIG


@cli.command()
@click.pass_context
def dev(ctx: click.Context) -> int:
    """Migrate, then run gateway and worker in one process."""
    return _local(ctx, commands.dev, long_running=True)


@cli.command()
@click.pass_context
def serve(ctx: click.Context) -> int:
    """Run the gateway (ingest, API, live stream, operations)."""
    return _local(ctx, commands.serve, long_running=True)


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> int:
    """Run a relay worker (dispatch, delivery, retries, sweeper)."""
    return _local(ctx, commands.worker, long_running=True)


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> int:
    """Create or upgrade the storage schema (idempotent)."""
    return _local(ctx, commands.migrate)


@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> int:
    """Validate the config and handlers and print what is wrong."""
    try:
        config = load_config(config_path(ctx.obj, os.environ))
    except ConfigError as e:
        return _config_problems(e.problems)
    problems = commands.deep_config_problems(config)
    if problems:
        return _config_problems(problems)
    click.echo(f"ok: {len(config.sources)} sources, {len(config.handlers)} handlers")
    return 0


@cli.command()
@click.pass_context
def reencrypt(ctx: click.Context) -> int:
    """Rewrite every endpoint secret under security.secret_key."""
    return _local(ctx, commands.reencrypt)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would go (counts); delete nothing.")
@click.pass_context
def purge(ctx: click.Context, dry_run: bool) -> int:
    """Delete now what retention lets go (as the workers do)."""

    async def run(config: Config) -> int:
        return await commands.purge(config, dry_run=dry_run)

    return _local(ctx, run)


@cli.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("--name", required=True, help="The user's name.")
@click.option("--email", required=True, help="The user's e-mail address (unique).")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "operator", "member"]), help="Its role."
)
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …, "api_key": …}.')
@click.pass_context
def create_user(ctx: click.Context, name: str, email: str, role: str, as_json: bool) -> int:
    """Create a user and print its API key once."""

    async def run(config: Config) -> int:
        return await commands.create_user(config, name, email, role, as_json=as_json)

    return _local(ctx, run)


for remote_command in (events, deliveries, tail, listen):
    cli.add_command(remote_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the process exit status."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="hookgate",
            standalone_mode=False,
        )
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("hookgate: aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0
