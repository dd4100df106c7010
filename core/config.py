"""hookgate's configuration: a frozen typed object loaded once from ``config.yaml``.

``load_config`` reads the YAML, interpolates ``${VAR}``/``${VAR:-default}`` from the
environment and validates every key; any problem (unknown key, wrong type, missing
secret) raises ``ConfigError`` listing each problem with its key path.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml

from core.config_reader import ConfigReader
from core.ratelimit import RateLimit
from verifiers import VerifierConfigError, build_verifier

DEFAULT_PATH = Path("config.yaml")
DEFAULT_STORAGE_URL = "sqlite:///./hookgate.db"
DEFAULT_CONNECT_TIMEOUT_S = 30.0
DAY_S = 86_400.0
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HANDLER_CALL = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
# The source of hookgate's own operational events (``subscription.disabled``,
# ``delivery.failed``): handlers opt in by listing it; no provider may take the name.
OPERATIONAL_SOURCE = "hookgate"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "console"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "console")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are ``"key.path: message"`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ServerConfig:
    """The HTTP listener and what providers see of it."""

    host: str = "0.0.0.0"  # noqa: S104 - a gateway listens for providers on every interface
    port: int = 8080
    max_body_bytes: int = 1_048_576
    public_url: str = "http://localhost:8080"


@dataclass(frozen=True)
class SecurityConfig:
    """Keys and network rules."""

    secret_key: str
    allowed_target_networks: tuple[Network, ...] = ()
    # Keys the secret key was rotated away from: still read, never written.
    previous_secret_keys: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"SecurityConfig(secret_key=<hidden>, previous_secret_keys=<hidden>, "
            f"allowed_target_networks={self.allowed_target_networks!r})"
        )


@dataclass(frozen=True)
class LoggingConfig:
    """How much is logged, and as JSON lines or for people at a terminal."""

    level: LogLevel = "info"
    format: LogFormat = "json"


@dataclass(frozen=True)
class BackoffConfig:
    """Exponential retry schedule: ``initial_s * multiplier**n``, capped, with jitter."""

    initial_s: float = 5.0
    multiplier: float = 6.0
    max_s: float = 36_000.0
    jitter: float = 0.2


@dataclass(frozen=True)
class BreakerConfig:
    """Per-subscription circuit breaker."""

    failures: int = 5
    cooldown_s: float = 60.0


@dataclass(frozen=True)
class DeliveryConfig:
    """How the relay delivers and retries."""

    timeout_s: float = 15.0
    max_attempts: int = 8
    backoff: BackoffConfig = field(default_factory=BackoffConfig)
    disable_after_s: float = 5 * 86_400.0
    sweep_interval_s: float = 5.0
    breaker: BreakerConfig = field(default_factory=BreakerConfig)


@dataclass(frozen=True)
class RetentionConfig:
    """How long rows are kept, in seconds (0 keeps them forever), and how often the
    workers purge older ones (``relay.retention``)."""

    events_s: float = 30 * DAY_S
    attempts_s: float = 30 * DAY_S
    interval_s: float = 3600.0


@dataclass(frozen=True)
class WorkerConfig:
    """The worker's own HTTP listener (``/healthz``, ``/readyz``, ``/metrics``).

    ``port`` 0 turns it off; ``host`` is ``server.host`` unless ``worker.host`` is set.
    """

    host: str = ServerConfig.host
    port: int = 9091


@dataclass(frozen=True)
class ApiConfig:
    """The management API: ``rate_limit`` per API key, None when turned off."""

    rate_limit: RateLimit | None = field(default_factory=RateLimit)


@dataclass(frozen=True)
class SourceConfig:
    """A provider posting to ``POST /ingest/{name}``, checked by preset ``verifier``."""

    name: str
    verifier: str
    secrets: tuple[str, ...] = ()
    tolerance_s: float | None = None
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    rate_limit_per_s: float | None = None
    rate_limit_burst: int | None = None

    def __repr__(self) -> str:
        return f"SourceConfig(name={self.name!r}, verifier={self.verifier!r}, secrets=<hidden>)"


@dataclass(frozen=True)
class HandlerConfig:
    """An internal Python handler (``call: "pkg.mod:func"``) and the events it wants."""

    name: str
    call: str
    sources: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything hookgate reads from ``config.yaml``."""

    security: SecurityConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    storage_url: str = DEFAULT_STORAGE_URL
    # How long commands keep retrying a storage server that does not answer yet.
    storage_connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    redis_url: str = "redis://localhost:6379/0"
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    sources: tuple[SourceConfig, ...] = ()
    handlers: tuple[HandlerConfig, ...] = ()

    def source(self, name: str) -> SourceConfig | None:
        """The source called ``name``, if configured."""
        return next((source for source in self.sources if source.name == name), None)


def config_path(option: str | None, environ: Mapping[str, str]) -> Path:
    """``--config``, else ``$HOOKGATE_CONFIG``, else ``./config.yaml``."""
    return Path(option or environ.get("HOOKGATE_CONFIG") or DEFAULT_PATH)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``; ``ConfigError`` lists every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([f"{path}: cannot read ({e.strerror})"]) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError([f"{path}: not valid YAML ({e})"]) from e
    return parse_config(data, os.environ if environ is None else environ)


def parse_config(data: object, environ: Mapping[str, str]) -> Config:
    """Validate an already parsed YAML tree into a ``Config``."""
    problems: list[str] = []
    root = ConfigReader(data, "", problems, environ)
    sources = _sources(root)
    storage_url, storage_connect_timeout_s = _storage(root.section("storage"))
    server = _server(root.section("server"))
    config = Config(
        server=server,
        storage_url=storage_url,
        storage_connect_timeout_s=storage_connect_timeout_s,
        redis_url=_url_of(root.section("redis"), "redis://localhost:6379/0"),
        security=_security(root.section("security")),
        delivery=_delivery(root.section("delivery")),
        retention=_retention(root.section("retention")),
        worker=_worker(root.section("worker"), server),
        api=_api(root.section("api")),
        logging=_logging(root.section("logging")),
        sources=sources,
        handlers=_handlers(root, {source.name for source in sources} | {OPERATIONAL_SOURCE}),
    )
    root.reject_unknown()
    if problems:
        raise ConfigError(problems)
    return config


def _server(section: ConfigReader) -> ServerConfig:
    defaults = ServerConfig()
    server = ServerConfig(
        host=section.text("host", defaults.host),
        port=section.integer("port", defaults.port, minimum=0),
        max_body_bytes=section.integer("max_body_bytes", defaults.max_body_bytes, minimum=1),
        public_url=section.text("public_url", defaults.public_url).rstrip("/"),
    )
    if server.port > 65535:
        section.problem("port", "must be at most 65535")
    if not server.public_url.startswith(("http://", "https://")):
        section.problem("public_url", "must be an http(s) URL")
    section.reject_unknown()
    return server


def _url_of(section: ConfigReader, default: str) -> str:
    url = section.text("url", default)
    section.reject_unknown()
    return url


def _storage(section: ConfigReader) -> tuple[str, float]:
    url = section.text("url", DEFAULT_STORAGE_URL)
    timeout_s = section.number("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S, 0.0)
    section.reject_unknown()
    return url, timeout_s


def _logging(section: ConfigReader) -> LoggingConfig:
    defaults = LoggingConfig()
    level = section.text("level", defaults.level).lower()
    if level not in LOG_LEVELS:
        section.problem("level", f"must be one of {', '.join(LOG_LEVELS)}")
        level = defaults.level
    log_format = section.text("format", defaults.format).lower()
    if log_format not in LOG_FORMATS:
        section.problem("format", f"must be one of {', '.join(LOG_FORMATS)}")
        log_format = defaults.format
    section.reject_unknown()
    return LoggingConfig(level=level, format=log_format)


def _security(section: ConfigReader) -> SecurityConfig:
    secret_key = section.text("secret_key", min_length=32)
    previous_secret_keys = section.strings("previous_secret_keys", min_length=32)
    networks = []
    for index, text in enumerate(section.strings("allowed_target_networks")):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            section.problem(f"allowed_target_networks[{index}]", "must be a CIDR network")
    section.reject_unknown()
    return SecurityConfig(
        secret_key=secret_key,
        allowed_target_networks=tuple(networks),
        previous_secret_keys=previous_secret_keys,
    )


def _delivery(section: ConfigReader) -> DeliveryConfig:
    defaults = DeliveryConfig()
    backoff_section, breaker_section = section.section("backoff"), section.section("breaker")
    backoff = BackoffConfig(
        initial_s=backoff_section.number("initial_s", defaults.backoff.initial_s, 0.001),
        multiplier=backoff_section.number("multiplier", defaults.backoff.multiplier, 1.0),
        max_s=backoff_section.number("max_s", defaults.backoff.max_s, 0.001),
        jitter=backoff_section.number("jitter", defaults.backoff.jitter, 0.0),
    )
    if backoff.jitter >= 1:
        backoff_section.problem("jitter", "must be below 1")
    breaker = BreakerConfig(
        failures=breaker_section.integer("failures", defaults.breaker.failures, minimum=1),
        cooldown_s=breaker_section.number("cooldown_s", defaults.breaker.cooldown_s, 0.0),
    )
    backoff_section.reject_unknown()
    breaker_section.reject_unknown()
    delivery = DeliveryConfig(
        timeout_s=section.number("timeout_s", defaults.timeout_s, 0.001),
        max_attempts=section.integer("max_attempts", defaults.max_attempts, minimum=1),
        backoff=backoff,
        disable_after_s=section.duration("disable_after", defaults.disable_after_s),
        sweep_interval_s=section.number("sweep_interval_s", defaults.sweep_interval_s, 0.01),
        breaker=breaker,
    )
    section.reject_unknown()
    return delivery


def _retention(section: ConfigReader) -> RetentionConfig:
    defaults = RetentionConfig()
    retention = RetentionConfig(
        events_s=section.duration("events", defaults.events_s),
        attempts_s=section.duration("attempts", defaults.attempts_s),
        interval_s=section.duration("interval", defaults.interval_s),
    )
    for key, value in (("events", retention.events_s), ("attempts", retention.attempts_s)):
        if value < 0:
            section.problem(key, "must not be negative (0 keeps rows forever)")
    if retention.interval_s <= 0:
        section.problem("interval", "must be more than 0, such as 1h")
    section.reject_unknown()
    return retention


def _worker(section: ConfigReader, server: ServerConfig) -> WorkerConfig:
    defaults = WorkerConfig()
    worker = WorkerConfig(
        host=section.text("host", server.host),
        port=section.integer("port", defaults.port, minimum=0),
    )
    if worker.port > 65535:
        section.problem("port", "must be at most 65535 (0 turns the worker's HTTP off)")
    elif worker.port and worker.port == server.port and worker.host == server.host:
        section.problem("port", f"must differ from server.port ({server.port})")
    section.reject_unknown()
    return worker


def _api(section: ConfigReader) -> ApiConfig:
    defaults = RateLimit()
    per_s = section.number("rate_limit_per_s", defaults.per_s, 0.0)
    burst = section.integer("rate_limit_burst", defaults.burst, minimum=0)
    section.reject_unknown()
    # Either at 0 turns the limit off: a bucket that holds no token would refuse all.
    return ApiConfig(rate_limit=RateLimit(per_s, burst) if per_s > 0 and burst > 0 else None)


def _sources(root: ConfigReader) -> tuple[SourceConfig, ...]:
    sources: list[SourceConfig] = []
    for entry in root.entries("sources"):
        source = _source(entry)
        if any(known.name == source.name for known in sources):
            entry.problem("name", f"duplicate source {source.name!r}")
        sources.append(source)
    return tuple(sources)


def _source(entry: ConfigReader) -> SourceConfig:
    name = entry.text("name")
    if name and not _SOURCE_NAME.fullmatch(name):
        entry.problem("name", "must be lower-case letters, digits, '-' or '_' (at most 64)")
    if name == OPERATIONAL_SOURCE:
        entry.problem("name", f"{OPERATIONAL_SOURCE!r} is reserved for operational events")
    source = SourceConfig(
        name=name,
        verifier=entry.text("verifier"),
        secrets=entry.strings("secrets"),
        tolerance_s=entry.optional_number("tolerance_s", minimum=1.0),
        options=MappingProxyType(entry.mapping("options")),
        rate_limit_per_s=entry.optional_number("rate_limit_per_s", minimum=0.001),
        rate_limit_burst=entry.optional_integer("rate_limit_burst", minimum=1),
    )
    _check_preset(entry, source)
    entry.reject_unknown()
    return source


def _check_preset(entry: ConfigReader, source: SourceConfig) -> None:
    """Build the source's verifier once so bad secrets and options stop the start."""
    if not source.verifier:
        return
    try:
        build_verifier(source.verifier, source.secrets, source.tolerance_s, source.options)
    except VerifierConfigError as e:
        entry.problem(e.key, e.message)


def _handlers(root: ConfigReader, known_sources: set[str]) -> tuple[HandlerConfig, ...]:
    handlers: list[HandlerConfig] = []
    for entry in root.entries("handlers"):
        handler = HandlerConfig(
            name=entry.text("name"),
            call=entry.text("call"),
            sources=entry.strings("sources"),
            event_types=entry.strings("event_types"),
        )
        if handler.call and not _HANDLER_CALL.fullmatch(handler.call):
            entry.problem("call", "must look like 'package.module:function'")
        for index, source in enumerate(handler.sources):
            if source not in known_sources:
                entry.problem(f"sources[{index}]", f"unknown source {source!r}")
        if any(known.name == handler.name for known in handlers):
            entry.problem("name", f"duplicate handler {handler.name!r}")
        handlers.append(handler)
        entry.reject_unknown()
    return tuple(handlers)
