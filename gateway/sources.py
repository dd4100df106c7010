"""Each configured source, ready to serve: its verifier, preset and rate limit."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import SourceConfig
from core.ratelimit import TokenBucket
from policy.redaction import ALWAYS_SECRET
from verifiers import NeedsFetch, Preset, Verifier, build_verifier, find_preset


@dataclass(frozen=True)
class SourceRuntime:
    """What the ingest route needs about one source."""

    config: SourceConfig
    preset: Preset
    verifier: Verifier
    limiter: TokenBucket | None
    secret_headers: frozenset[str]
    needs_fetch: bool


def build_sources(configs: tuple[SourceConfig, ...]) -> dict[str, SourceRuntime]:
    """Runtimes for every source (config was validated at load, so this cannot fail)."""
    return {config.name: _runtime(config) for config in configs}


def _runtime(config: SourceConfig) -> SourceRuntime:
    limiter = None
    if config.rate_limit_per_s is not None:
        burst = config.rate_limit_burst or max(1, int(config.rate_limit_per_s))
        limiter = TokenBucket(config.rate_limit_per_s, burst)
    verifier = build_verifier(config.verifier, config.secrets, config.tolerance_s, config.options)
    preset = find_preset(config.verifier)
    return SourceRuntime(
        config=config,
        preset=preset,
        verifier=verifier,
        limiter=limiter,
        # Headers that carry the secret itself (not a signature over the body): never stored.
        secret_headers=ALWAYS_SECRET | preset.secret_headers(config.options),
        # Checked once: isinstance against a runtime Protocol costs microseconds a call.
        needs_fetch=isinstance(verifier, NeedsFetch),
    )
