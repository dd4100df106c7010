"""The ``hookgate`` command: parse arguments, load config, run one command.

Errors users can cause (a bad config, an unreachable database, a busy port) end with
one message naming what is wrong and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvloop

from core.config import Config, ConfigError, config_path, load_config
from core.logs import configure_logging
from hookgate import __version__, commands
from hookgate.connecting import redacted
from relay.errors import HandlerConfigError
from storage import StorageError

EXIT_CONFIG = 2
EXIT_RUNTIME = 1
# Their log lines are their output; the other commands print a result on stdout, so
# their log lines (a storage retry, say) go to stderr.
LONG_RUNNING = frozenset({"dev", "serve", "worker"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per SPEC §3 command."""
    parser = argparse.ArgumentParser(
        prog="hookgate",
        description="Webhook gateway and delivery relay.",
        epilog="Config: --config PATH, else $HOOKGATE_CONFIG, else ./config.yaml.",
    )
    parser.add_argument("--config", metavar="PATH", help="the config file to use")
    parser.add_argument("--version", action="version", version=f"hookgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("dev", help="migrate, then run gateway and worker in one process")
    sub.add_parser("serve", help="run the gateway (ingest, API, operations)")
    sub.add_parser("worker", help="run a relay worker (dispatch, delivery, retries, sweeper)")
    sub.add_parser("migrate", help="create or upgrade the storage schema (idempotent)")
    sub.add_parser("check-config", help="validate the config and handlers and print what is wrong")
    sub.add_parser("reencrypt", help="rewrite every endpoint secret under security.secret_key")
    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    create = users.add_parser("create", help="create a user and print its API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["admin", "operator", "member"])
    create.add_argument("--json", action="store_true", help='print {"id": …, "api_key": …}')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(config_path(args.config, os.environ))
    except ConfigError as e:
        return _config_problems(e.problems)
    if args.command == "check-config":
        return _check_config(config)
    configure_logging(
        config.logging.level,
        config.logging.format,
        stream=sys.stdout if args.command in LONG_RUNNING else sys.stderr,
    )
    return _run_reporting_errors(args, config)


def _run_reporting_errors(args: argparse.Namespace, config: Config) -> int:
    """Run the command; a failure users can cause is one line and an exit status."""
    try:
        return uvloop.run(_run(args, config))
    except HandlerConfigError as e:
        return _config_problems([str(e)])
    except StorageError as e:
        print(f"hookgate: storage ({redacted(config.storage_url)}): {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except commands.ListenError as e:
        print(f"hookgate: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "migrate":
        return await commands.migrate(config)
    if args.command == "dev":
        return await commands.dev(config)
    if args.command == "serve":
        return await commands.serve(config)
    if args.command == "worker":
        return await commands.worker(config)
    if args.command == "reencrypt":
        return await commands.reencrypt(config)
    return await commands.create_user(config, args.name, args.email, args.role, as_json=args.json)


def _config_problems(problems: Sequence[str]) -> int:
    print("hookgate: the configuration has problems:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_CONFIG


def _check_config(config: Config) -> int:
    problems = commands.deep_config_problems(config)
    if problems:
        return _config_problems(problems)
    print(f"ok: {len(config.sources)} sources, {len(config.handlers)} handlers")
    return 0
