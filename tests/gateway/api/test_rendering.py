"""List pages are rendered straight from ``row()`` dicts: they must be exactly what the
response models produce, page envelope included, so the documented schema holds."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from gateway.api.operations import page_json
from gateway.api.schemas.deliveries import AttemptOut, DeliveryOut, DeliveryPage
from gateway.api.schemas.events import EventOut, EventPage
from gateway.api.schemas.subscriptions import SubscriptionOut, SubscriptionPage
from gateway.api.schemas.users import ApiKeyOut, ApiKeyPage, UserOut, UserPage
from storage.records import (
    ApiKey,
    Attempt,
    Delivery,
    Event,
    Subscription,
    SubscriptionFields,
    User,
)

AT = 1_795_532_468_430_385
RECORDS: list[tuple[Any, Any, Any]] = [
    (UserOut, UserPage, User("usr_1", "Ann", "ann@example.com", "member", AT, AT + 1)),
    (ApiKeyOut, ApiKeyPage, ApiKey("key_1", "usr_1", "hg_abcdefg", AT, None)),
    (ApiKeyOut, ApiKeyPage, ApiKey("key_2", "usr_1", "hg_abcdefg", AT, AT + 5)),
    (
        SubscriptionOut,
        SubscriptionPage,
        Subscription(
            "sub_1",
            "usr_1",
            SubscriptionFields(
                url="https://x.example.com/h",
                sources=("src-github",),
                event_types=("a.*",),
                headers={"Authorization": "Bearer s3cret", "X-Team": "t"},
                rate_limit_per_s=2.5,
            ),
            "endpoint answered 410",
            AT,
            AT,
        ),
    ),
    (
        EventOut,
        EventPage,
        Event("evt_1", "src-github", "push", "p1", AT, {"content-type": "a/b"}, None, None),
    ),
    (
        DeliveryOut,
        DeliveryPage,
        Delivery(
            "dlv_1", "evt_1", "sub_1", "https://x.example.com/h", "pending", 0, AT, None, AT, AT
        ),
    ),
    (
        DeliveryOut,
        DeliveryPage,
        Delivery("dlv_2", "evt_1", None, "handler:audit", "failed", 8, None, 500, 0, AT),
    ),
]


def dumped(model: BaseModel) -> Any:
    """What ``render`` sends for ``model``."""
    return orjson.loads(orjson.dumps(model.model_dump(), option=orjson.OPT_UTC_Z))


@pytest.mark.parametrize(("resource", "page", "record"), RECORDS)
def test_row_is_what_the_model_dumps(resource: Any, page: Any, record: Any) -> None:
    """``row()`` equals the model's dump, and a page of rows the page model's dump."""
    row = resource.row(record)

    assert resource.of(record).model_dump() == row
    expected_page = dumped(page(data=[resource.of(record)] * 2, next_cursor="abc"))
    assert expected_page == orjson.loads(page_json([row, row], "abc"))


def test_attempt_row_is_what_the_model_dumps() -> None:
    """Attempts too, with a body that is not UTF-8 and a missing response."""
    answered = Attempt(
        "att_1", "dlv_1", 1, AT, 1.5, {"a": "b"}, 500, {"c": "d"}, b"no \xff", "http_status", "x"
    )
    unanswered = Attempt("att_2", "dlv_1", 2, AT, 10.0, {}, None, None, None, "timeout", None)

    for attempt in (answered, unanswered):
        assert AttemptOut.of(attempt).model_dump() == AttemptOut.row(attempt)
