"""Container healthchecks: ``python -m hookgate.health gateway|worker`` exits 0 if healthy.

Both read the same config as the process they check (``$HOOKGATE_CONFIG``), so a
mounted config with another port or Redis is checked correctly.

- ``gateway``: ``GET /healthz`` on ``server.port`` answers 200.
- ``worker``: ``GET /healthz`` on ``worker.port`` answers 200. With the worker's
  listener turned off (``worker.port: 0``): a relay worker on this host has refreshed
  its arq health-check key in Redis (it does every 15 s; the key expires a second after).
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from collections.abc import Sequence

import redis

from core.config import Config, ConfigError, config_path, load_config
from core.queue import QUEUE_NAME

TIMEOUT_S = 3.0
_EVERY_INTERFACE = {"0.0.0.0", "::", ""}  # noqa: S104 - names the wildcard, binds nothing


def gateway_is_healthy(config: Config) -> bool:
    """Whether the gateway's ``/healthz`` answers 200."""
    return _healthz_answers(config.server.host, config.server.port)


def _healthz_answers(host: str, port: int) -> bool:
    """Whether ``/healthz`` on ``host:port`` answers 200 (the wildcard is 127.0.0.1)."""
    host = "127.0.0.1" if host in _EVERY_INTERFACE else host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def worker_is_healthy(config: Config) -> bool:
    """Whether the worker's ``/healthz`` answers 200 (without a listener: whether a
    worker on this host keeps its arq health-check key alive)."""
    if config.worker.port:
        return _healthz_answers(config.worker.host, config.worker.port)
    pattern = f"{QUEUE_NAME}:health-check:{socket.gethostname()}:*"
    client = redis.Redis.from_url(
        config.redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
    try:
        return any(True for _ in client.scan_iter(match=pattern, count=1000))
    except redis.RedisError:
        return False
    finally:
        client.close()


def main(argv: Sequence[str]) -> int:
    """Check the role named in ``argv``; 0 when healthy, 1 when not, 2 on bad usage."""
    checks = {"gateway": gateway_is_healthy, "worker": worker_is_healthy}
    if len(argv) != 1 or argv[0] not in checks:
        print("usage: python -m hookgate.health gateway|worker", file=sys.stderr)
        return 2
    try:
        config = load_config(config_path(None, os.environ))
    except ConfigError as e:
        print(f"unhealthy: {e}", file=sys.stderr)
        return 1
    healthy = checks[argv[0]](config)
    print("healthy" if healthy else "unhealthy", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
