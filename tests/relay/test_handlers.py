"""Configured handlers are imported when the worker starts; a bad ``call`` stops it with
the key path."""

from __future__ import annotations

import pytest

from core.config import HandlerConfig
from relay.errors import HandlerConfigError
from relay.handlers import load_handlers
from tests.relay import handlers


def test_handlers_load_by_name() -> None:
    """Each handler is found by its configured name."""
    loaded = load_handlers(
        [
            HandlerConfig("audit", "tests.relay.handlers:record"),
            HandlerConfig("f", "tests.relay.handlers:flaky"),
        ]
    )

    assert {"audit": handlers.record, "f": handlers.flaky} == loaded


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("tests.relay.nowhere:record", "cannot import"),
        ("tests.relay.handlers:missing", "has no 'missing'"),
        ("tests.relay.handlers:not_async", "is not an async function"),
    ],
)
def test_bad_handler_names_its_key(call: str, message: str) -> None:
    """The error names handlers[i].call and what is wrong."""
    with pytest.raises(HandlerConfigError, match=message) as raised:
        load_handlers(
            [HandlerConfig("ok", "tests.relay.handlers:record"), HandlerConfig("bad", call)]
        )

    assert "handlers[1].call" == raised.value.key
