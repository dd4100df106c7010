"""The ``hookgate`` command: parse arguments, load config, run one command.

Errors users can cause (a bad config, an unreachable database) end with a message
naming what is wrong and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvloop

from core.config import Config, ConfigError, config_path, load_config
from hookgate import __version__, commands
from storage import StorageError

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


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
    sub.add_parser("check-config", help="validate the config and print what is wrong")
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
        print("hookgate: the configuration has problems:", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        return _check_config(config)
    try:
        return uvloop.run(_run(args, config))
    except StorageError as e:
        print(f"hookgate: storage ({_redacted(config.storage_url)}): {e}", file=sys.stderr)
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
    return await commands.create_user(config, args.name, args.email, args.role, as_json=args.json)


def _check_config(config: Config) -> int:
    problems = commands.deep_config_problems(config)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        return EXIT_CONFIG
    print(f"ok: {len(config.sources)} sources, {len(config.handlers)} handlers")
    return 0


def _redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in credentials else url
