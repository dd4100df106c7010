"""The ``hookgate`` source of operational events: handlers may list it, providers may not
take its name."""

from __future__ import annotations

import pytest

from core.config import OPERATIONAL_SOURCE, ConfigError, parse_config

SECURITY = {"secret_key": "x" * 32}


def test_handlers_may_listen_to_operational_events() -> None:
    """sources: [hookgate] is a known source for handlers."""
    config = parse_config(
        {
            "security": SECURITY,
            "handlers": [{"name": "ops", "call": "m:f", "sources": [OPERATIONAL_SOURCE]}],
        },
        {},
    )

    assert (OPERATIONAL_SOURCE,) == config.handlers[0].sources


def test_no_provider_source_may_be_called_hookgate() -> None:
    """A configured source named hookgate is refused, naming the key."""
    with pytest.raises(ConfigError) as raised:
        parse_config(
            {
                "security": SECURITY,
                "sources": [{"name": "hookgate", "verifier": "api-key", "secrets": ["k" * 32]}],
            },
            {},
        )

    assert any(problem.startswith("sources[0].name") for problem in raised.value.problems)
