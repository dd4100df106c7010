"""Real processes for the worker and chaos tests: a private ``redis-server`` and
``hookgate worker`` subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import SECRET_KEY


@contextmanager
def redis_server(folder: Path, port: int) -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1:``port`` (never the machine's shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - a fixed binary with fixed arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def flush(url: str) -> None:
    """FLUSHALL the private Redis at ``url``."""
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def write_worker_config(
    folder: Path, storage_url: str, redis_url: str, *, worker_port: int = 0
) -> Path:
    """A config for ``hookgate worker``: short timeouts, 127/8 allowed, its HTTP
    listener on ``worker_port`` (off by default: several workers share the machine)."""
    path = folder / "worker.yaml"
    path.write_text(
        f"storage: {{url: '{storage_url}'}}\n"
        f"redis: {{url: '{redis_url}'}}\n"
        f"worker: {{host: 127.0.0.1, port: {worker_port}}}\n"
        f"security: {{secret_key: '{SECRET_KEY}', allowed_target_networks: ['127.0.0.0/8']}}\n"
        "delivery:\n"
        "  timeout_s: 1\n"
        "  max_attempts: 6\n"
        "  backoff: {initial_s: 0.1, multiplier: 2, max_s: 1, jitter: 0}\n"
        "  sweep_interval_s: 0.2\n"
    )
    return path


async def start_worker(config: Path, log: Path) -> asyncio.subprocess.Process:
    """``hookgate --config CONFIG worker``, logging to ``log``."""
    environ = {k: v for k, v in os.environ.items() if k != "HOOKGATE_CONFIG"}
    environ["PYTHONFAULTHANDLER"] = "1"  # a hung worker aborted by ``stop`` shows its stacks
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookgate",
            "--config",
            str(config),
            "worker",
            cwd=config.parent,
            env=environ,
            stdout=output,
            stderr=output,
        )


async def stop(process: asyncio.subprocess.Process, log: Path, signum: int = signal.SIGTERM) -> int:
    """Signal ``process`` and wait (bounded) for its exit status; a worker that does not
    stop is aborted (dumping its stacks to ``log``) and the test fails with the log."""
    if process.returncode is None:
        process.send_signal(signum)
    try:
        async with asyncio.timeout(60):
            return await process.wait()
    except TimeoutError:
        process.send_signal(signal.SIGABRT)
        await process.wait()
        tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-6000:]
        raise AssertionError(f"the worker did not stop on signal {signum}:\n{tail}") from None
