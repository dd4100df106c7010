"""Config loading: interpolation, typed values, and problems that name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, config_path, load_config, parse_config

SECRET = "k" * 32
ENV = {"HOOKGATE_SECRET_KEY": SECRET, "STRIPE_WEBHOOK_SECRET": "whsec_abc", "PORT": "9090"}


def minimal(**extra: object) -> dict[str, object]:
    """The smallest valid config, plus ``extra`` top-level keys."""
    return {"security": {"secret_key": "${HOOKGATE_SECRET_KEY}"}, **extra}


def problems_of(data: object, environ: dict[str, str] | None = None) -> list[str]:
    """The problems ``parse_config`` reports (none if it accepts the config)."""
    try:
        parse_config(data, ENV if environ is None else environ)
    except ConfigError as e:
        return e.problems
    return []


def test_repository_example_config_loads() -> None:
    """The committed config.yaml is valid once its secrets are in the environment."""
    config = load_config(Path(__file__).parents[2] / "config.yaml", ENV | {"ACME_SECRET": "s"})
    assert "stripe" == config.sources[0].name


def test_image_config_listens_everywhere_and_takes_every_secret_from_the_environment() -> None:
    """deploy/config.yaml (the Docker image's) listens on 0.0.0.0, allows no private
    network, and without its environment names each missing variable instead of
    falling back to a baked-in value."""
    path = Path(__file__).parents[2] / "deploy" / "config.yaml"
    environ = {
        "HOOKGATE_SECRET_KEY": SECRET,
        "HOOKGATE_STORAGE_URL": "postgresql://hookgate:pw@postgres:5432/hookgate",
        "HOOKGATE_PUBLIC_URL": "https://hooks.example.com",
    }
    config = load_config(path, environ)
    with pytest.raises(ConfigError) as missing:
        load_config(path, {})

    assert ("0.0.0.0", (), "json", environ["HOOKGATE_STORAGE_URL"]) == (  # noqa: S104
        config.server.host,
        config.security.allowed_target_networks,
        config.logging.format,
        config.storage_url,
    )
    for name, key in [
        ("HOOKGATE_SECRET_KEY", "security.secret_key"),
        ("HOOKGATE_STORAGE_URL", "storage.url"),
        ("HOOKGATE_PUBLIC_URL", "server.public_url"),
    ]:
        assert f"{key}: environment variable {name} is not set" in missing.value.problems


def test_defaults_and_interpolation() -> None:
    """Absent keys take SPEC defaults; ``${VAR}`` and ``${VAR:-default}`` are coerced."""
    config = parse_config(minimal(server={"port": "${PORT}", "host": "${HOST:-127.0.0.1}"}), ENV)
    assert (9090, "127.0.0.1", 1_048_576, 8, 5 * 86400.0) == (
        config.server.port,
        config.server.host,
        config.server.max_body_bytes,
        config.delivery.max_attempts,
        config.delivery.disable_after_s,
    )
    assert SECRET == config.security.secret_key


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"security": {}}, "security.secret_key: required"),
        ({"security": {"secret_key": "short"}}, "security.secret_key: must be at least 32"),
        (minimal(serverr={}), "serverr: unknown key"),
        (minimal(server={"port": "8080"}), "server.port: must be an integer"),
        (minimal(server={"port": 70000}), "server.port: must be at most 65535"),
        (
            minimal(delivery={"disable_after": "5 days"}),
            "delivery.disable_after: must be a duration",
        ),
        (minimal(delivery={"backoff": {"jitter": 2}}), "delivery.backoff.jitter: must be below 1"),
        (
            minimal(security={"secret_key": SECRET, "allowed_target_networks": ["10.0.0.0/33"]}),
            "security.allowed_target_networks[0]: must be a CIDR network",
        ),
        (
            {"security": {"secret_key": "${MISSING_VAR}"}},
            "security.secret_key: environment variable MISSING_VAR is not set",
        ),
        (
            minimal(
                sources=[
                    {"name": "gh", "verifier": "github", "secrets": ["x"]},
                    {"name": "s", "verifier": "github"},
                ]
            ),
            "sources[1].secrets: required",
        ),
        (
            minimal(sources=[{"name": "s", "verifier": "nope", "secrets": ["x"]}]),
            "sources[0].verifier: unknown preset 'nope'",
        ),
        (
            minimal(
                sources=[
                    {
                        "name": "s",
                        "verifier": "github",
                        "secrets": ["x"],
                        "options": {"colour": "red"},
                    }
                ]
            ),
            "sources[0].options.colour: unknown option",
        ),
        (
            minimal(sources=[{"name": "Bad Name", "verifier": "github", "secrets": ["x"]}]),
            "sources[0].name: must be lower-case",
        ),
        (
            minimal(handlers=[{"name": "h", "call": "not a call"}]),
            "handlers[0].call: must look like 'package.module:function'",
        ),
        (
            minimal(handlers=[{"name": "h", "call": "a.b:c", "sources": ["ghost"]}]),
            "handlers[0].sources[0]: unknown source 'ghost'",
        ),
        ("just a string", "(top level): must be a mapping"),
        (minimal(logging={"level": "verbose"}), "logging.level: must be one of debug, info"),
        (minimal(logging={"format": "xml"}), "logging.format: must be one of json, console"),
        (minimal(logging={"colour": True}), "logging.colour: unknown key"),
        (
            minimal(security={"secret_key": SECRET, "previous_secret_keys": [SECRET, "short"]}),
            "security.previous_secret_keys[1]: must be at least 32 characters",
        ),
        (
            minimal(security={"secret_key": SECRET, "previous_secret_keys": SECRET}),
            "security.previous_secret_keys: must be a list of strings",
        ),
        (minimal(storage={"connect_timeout_s": -1}), "storage.connect_timeout_s: must be at least"),
        (minimal(storage={"connect_timeout_s": "soon"}), "storage.connect_timeout_s: must be a"),
    ],
)
def test_problems_name_their_key(data: object, expected: str) -> None:
    """Each bad config is refused with a problem that starts with the key path."""
    problems = problems_of(data)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_production_keys_defaults_and_values() -> None:
    """logging, previous keys and the connect timeout: SPEC §14 defaults, and read when set."""
    defaults = parse_config(minimal(), ENV)
    assert ("info", "json", (), 30.0) == (
        defaults.logging.level,
        defaults.logging.format,
        defaults.security.previous_secret_keys,
        defaults.storage_connect_timeout_s,
    )
    old = "o" * 32
    configured = parse_config(
        minimal(
            logging={"level": "WARNING", "format": "console"},
            security={"secret_key": SECRET, "previous_secret_keys": [old]},
            storage={"url": "sqlite:///x.db", "connect_timeout_s": "${PORT}"},
        ),
        ENV,
    )
    assert ("warning", "console", (old,), 9090.0, "sqlite:///x.db") == (
        configured.logging.level,
        configured.logging.format,
        configured.security.previous_secret_keys,
        configured.storage_connect_timeout_s,
        configured.storage_url,
    )
    assert SECRET not in repr(configured.security)
    assert old not in repr(configured.security)


def test_every_problem_is_reported_at_once() -> None:
    """Several mistakes give several problems, not just the first."""
    problems = problems_of({"security": {}, "server": {"port": "x"}, "extra": 1})
    assert 3 == len(problems)


def test_secrets_never_appear_in_repr() -> None:
    """A source's secrets are not printed with it (logs, tracebacks)."""
    data = minimal(
        sources=[{"name": "s", "verifier": "github", "secrets": ["${STRIPE_WEBHOOK_SECRET}"]}]
    )
    config = parse_config(data, ENV)
    assert "whsec_abc" not in repr(config.sources)
    assert ("whsec_abc",) == config.sources[0].secrets


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    """A missing file or broken YAML is a ConfigError naming the file."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [unclosed")
    for path in (tmp_path / "absent.yaml", broken):
        with pytest.raises(ConfigError) as caught:
            load_config(path, ENV)
        assert str(path) in caught.value.problems[0]


def test_config_path_precedence() -> None:
    """--config wins over $HOOKGATE_CONFIG, which wins over ./config.yaml."""
    assert (Path("a.yaml"), Path("b.yaml"), Path("config.yaml")) == (
        config_path("a.yaml", {"HOOKGATE_CONFIG": "b.yaml"}),
        config_path(None, {"HOOKGATE_CONFIG": "b.yaml"}),
        config_path(None, {}),
    )


def test_retention_worker_and_api_defaults() -> None:
    """SPEC §10 defaults: 30 days of events and attempts, purged hourly; the worker
    listens on 9091 on ``server.host``; 50 API requests a second per key, bursts of 100."""
    config = parse_config(minimal(server={"host": "127.0.0.1"}), ENV)

    assert (30 * 86400.0, 30 * 86400.0, 3600.0) == (
        config.retention.events_s,
        config.retention.attempts_s,
        config.retention.interval_s,
    )
    assert ("127.0.0.1", 9091) == (config.worker.host, config.worker.port)
    assert (50.0, 100) == (config.api.rate_limit.per_s, config.api.rate_limit.burst)  # type: ignore[union-attr]


def test_retention_worker_and_api_values() -> None:
    """Durations read as durations, 0 keeps forever, ``worker.host`` overrides
    ``server.host``, ``worker.port: 0`` turns the listener off, and either API limit
    at 0 turns the limit off."""
    config = parse_config(
        minimal(
            retention={"events": "7d", "attempts": 0, "interval": "15m"},
            worker={"host": "0.0.0.0", "port": 0},  # noqa: S104
            api={"rate_limit_per_s": 2.5, "rate_limit_burst": 5},
        ),
        ENV,
    )
    unlimited = [
        parse_config(minimal(api={key: 0}), ENV).api.rate_limit
        for key in ("rate_limit_per_s", "rate_limit_burst")
    ]

    assert (7 * 86400.0, 0.0, 900.0) == (
        config.retention.events_s,
        config.retention.attempts_s,
        config.retention.interval_s,
    )
    assert ("0.0.0.0", 0) == (config.worker.host, config.worker.port)  # noqa: S104
    assert (2.5, 5) == (config.api.rate_limit.per_s, config.api.rate_limit.burst)  # type: ignore[union-attr]
    assert [None, None] == unlimited


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (minimal(retention={"events": "a month"}), "retention.events: must be a duration"),
        (minimal(retention={"attempts": -1}), "retention.attempts: must not be negative"),
        (minimal(retention={"interval": 0}), "retention.interval: must be more than 0"),
        (minimal(retention={"interval": "soon"}), "retention.interval: must be a duration"),
        (minimal(retention={"event": "30d"}), "retention.event: unknown key"),
        (minimal(worker={"port": "x"}), "worker.port: must be an integer"),
        (minimal(worker={"port": -1}), "worker.port: must be at least 0"),
        (minimal(worker={"port": 70000}), "worker.port: must be at most 65535"),
        (minimal(worker={"port": 8080}), "worker.port: must differ from server.port (8080)"),
        (minimal(worker={"hots": "x"}), "worker.hots: unknown key"),
        (minimal(api={"rate_limit_per_s": -1}), "api.rate_limit_per_s: must be at least 0"),
        (minimal(api={"rate_limit_per_s": "fast"}), "api.rate_limit_per_s: must be a number"),
        (minimal(api={"rate_limit_burst": 1.5}), "api.rate_limit_burst: must be an integer"),
        (minimal(api={"rate_limit": 5}), "api.rate_limit: unknown key"),
    ],
)
def test_retention_worker_and_api_problems_name_their_key(data: object, expected: str) -> None:
    """Each bad retention, worker or api value is refused naming its key path."""
    problems = problems_of(data)
    assert any(problem.startswith(expected) for problem in problems), problems
