"""The ``hookgate`` command as a user runs it: a real process, real files, real databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson

from storage import open_storage
from tests.conftest import SECRET_KEY


def write_config(folder: Path, storage_url: str, extra: str = "") -> Path:
    """A config file using ``storage_url`` with the secret key from the environment."""
    path = folder / "config.yaml"
    path.write_text(
        f"storage: {{url: '{storage_url}'}}\n"
        "security: {secret_key: '${HOOKGATE_SECRET_KEY}'}\n" + extra
    )
    return path


def environment(**env: str) -> dict[str, str]:
    """The environment of a hookgate process: the test secret key, no $HOOKGATE_CONFIG."""
    environ = {**os.environ, "HOOKGATE_SECRET_KEY": SECRET_KEY, **env}
    environ.pop("HOOKGATE_CONFIG", None)
    return environ


def hookgate(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``hookgate ARGS`` and capture what it prints."""
    return subprocess.run(  # noqa: S603 - our own entry point with fixed arguments
        [sys.executable, "-m", "hookgate", *args],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_then_create_user_prints_working_key(tmp_path: Path, storage_url: str) -> None:
    """migrate twice is fine; users create --json prints an id and a key that authenticates."""
    config = write_config(tmp_path, storage_url)

    first = hookgate("--config", str(config), "migrate", cwd=tmp_path)
    second = hookgate("--config", str(config), "migrate", cwd=tmp_path)
    created = hookgate(
        "--config",
        str(config),
        "users",
        "create",
        "--name",
        "Ops",
        "--email",
        f"ops-{tmp_path.name}@example.com",
        "--role",
        "operator",
        "--json",
        cwd=tmp_path,
    )

    assert (0, 0, 0) == (first.returncode, second.returncode, created.returncode), created.stderr
    assert "already current" in second.stdout
    printed = orjson.loads(created.stdout)
    assert printed["api_key"].startswith("hg_")

    async def check() -> str | None:
        async with open_storage(storage_url, SECRET_KEY) as storage:
            user = await storage.users.authenticate(printed["api_key"])
            return None if user is None else user.id

    assert printed["id"] == asyncio.run(check())


def test_check_config_names_each_bad_key(tmp_path: Path) -> None:
    """check-config exits non-zero and prints each problem with its key path."""
    config = write_config(
        tmp_path, "mysql://nope", "server: {port: 'x'}\nsources: [{name: s, verifier: github}]\n"
    )

    result = hookgate("--config", str(config), "check-config", cwd=tmp_path)

    assert 2 == result.returncode
    assert "server.port: must be an integer" in result.stderr
    assert "sources[0].secrets: required" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_reports_bad_storage_url(tmp_path: Path) -> None:
    """A storage URL of an unsupported kind is reported under storage.url."""
    config = write_config(tmp_path, "mysql://db/hookgate")

    result = hookgate("--config", str(config), "check-config", cwd=tmp_path)

    assert 2 == result.returncode
    assert "storage.url: unsupported scheme 'mysql'" in result.stderr


def test_config_from_environment_variable_and_missing_secret(tmp_path: Path) -> None:
    """$HOOKGATE_CONFIG is used when --config is absent; an unset secret is named."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/x.db")

    ok = hookgate("check-config", cwd=tmp_path, HOOKGATE_CONFIG=str(config))
    missing = hookgate(
        "check-config", cwd=tmp_path, HOOKGATE_CONFIG=str(config), HOOKGATE_SECRET_KEY=""
    )

    assert 0 == ok.returncode, ok.stderr
    assert 2 == missing.returncode
    assert "security.secret_key" in missing.stderr


HANDLERS = """
async def good(event):
    return None

def not_async(event):
    return None

async def two_arguments(event, context):
    return None

async def no_argument():
    return None
"""


def test_check_config_imports_each_handler(tmp_path: Path) -> None:
    """check-config imports every handlers[].call: each one that is missing, not an
    ``async def`` or not taking one argument is named by its key path; a good one is not."""
    (tmp_path / "myhandlers.py").write_text(HANDLERS)
    calls = [
        "myhandlers:good",
        "myhandlers:not_async",
        "myhandlers:two_arguments",
        "myhandlers:no_argument",
        "myhandlers:absent",
        "nosuchmodule:handle",
    ]
    handlers = "".join(f"  - {{name: h{i}, call: '{call}'}}\n" for i, call in enumerate(calls))
    config = write_config(tmp_path, "sqlite:///x.db", f"handlers:\n{handlers}")

    result = hookgate("--config", str(config), "check-config", cwd=tmp_path, PYTHONPATH=".")

    assert 2 == result.returncode
    problems = result.stderr.splitlines()[1:]
    assert [f"handlers[{i}].call" for i in range(1, 6)] == [
        problem.split(":")[0].strip() for problem in problems
    ]
    assert "not an async function" in problems[0]
    assert "must take one argument" in problems[1]
    assert "must take one argument" in problems[2]
    assert "has no 'absent'" in problems[3]
    assert "cannot import 'nosuchmodule'" in problems[4]
    assert "Traceback" not in result.stderr


def test_check_config_accepts_a_good_handler(tmp_path: Path) -> None:
    """An importable ``async def handle(event)`` passes."""
    (tmp_path / "myhandlers.py").write_text(HANDLERS)
    config = write_config(
        tmp_path, "sqlite:///x.db", "handlers: [{name: h, call: 'myhandlers:good'}]\n"
    )

    result = hookgate("--config", str(config), "check-config", cwd=tmp_path, PYTHONPATH=".")

    assert (0, "ok: 0 sources, 1 handlers\n") == (result.returncode, result.stdout), result.stderr


def test_unreachable_database_is_retried_then_one_line(tmp_path: Path) -> None:
    """migrate against a PostgreSQL that does not answer retries (a log line each) until
    storage.connect_timeout_s, then exits 1 with one line naming the URL, password hidden."""
    url = "postgresql://hookgate:hunter2-password@127.0.0.1:1/none"
    config = write_config(tmp_path, url, "")
    config.write_text(config.read_text().replace("url: '", "connect_timeout_s: 1.2, url: '"))

    result = hookgate("--config", str(config), "migrate", cwd=tmp_path)

    *retries, last = result.stderr.splitlines()
    assert 1 == result.returncode
    assert last.startswith(
        "hookgate: storage (postgresql://hookgate:***@127.0.0.1:1/none): no answer within 1.2 s"
    )
    assert len(retries) >= 2
    assert {"storage_unreachable"} == {orjson.loads(line)["event"] for line in retries}
    assert "hunter2" not in result.stderr
    assert "" == result.stdout


def test_create_user_before_migrate_says_to_migrate(tmp_path: Path) -> None:
    """Creating a user on an empty database tells the user to run migrate."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/fresh.db")

    result = hookgate(
        "--config",
        str(config),
        "users",
        "create",
        "--name",
        "A",
        "--email",
        "a@x.io",
        "--role",
        "admin",
        cwd=tmp_path,
    )

    assert 1 == result.returncode
    assert "hookgate migrate" in result.stderr
