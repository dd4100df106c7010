"""``/subscriptions``: create, read, replace, patch, delete, rotate-secret, test."""

from __future__ import annotations

from typing import Any

import pytest
from arq.connections import ArqRedis

from core.queue import DELIVER
from tests.gateway.api.conftest import SOURCE, Api, add_delivery, add_subscription, start_api

PROBLEM = "application/problem+json"
URL = "https://hooks.example.org/in"


def fields_of(answer_body: dict[str, Any]) -> dict[str, Any]:
    """The owner-chosen fields of a subscription answer."""
    names = ("url", "description", "sources", "event_types", "enabled", "headers")
    return {name: answer_body[name] for name in (*names, "rate_limit_per_s")}


async def test_create_answers_201_location_and_the_secret_once(api: Api) -> None:
    """POST: 201 + Location, the caller owns it, the ``whsec_`` secret shown only here."""
    created = await api.call(
        "POST",
        "/subscriptions",
        as_="member",
        json={"url": URL, "sources": [SOURCE], "event_types": ["pull_request.*"]},
    )
    shown = await api.call("GET", created.headers["Location"].removeprefix("/api/v1"), as_="member")

    assert 201 == created.status
    assert created.body["secret"].startswith("whsec_")
    assert api.user("member").id == created.body["owner_id"]
    expected = {
        "url": URL,
        "description": "",
        "sources": [SOURCE],
        "event_types": ["pull_request.*"],
        "enabled": True,
        "headers": {},
        "rate_limit_per_s": None,
    }
    assert expected == fields_of(created.body)
    assert 200 == shown.status
    assert "secret" not in shown.body
    assert (created.body["id"], None) == (shown.body["id"], shown.body["disabled_reason"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://2130706433/hook",
        "ftp://hooks.example.org/in",
        "not a url",
    ],
)
async def test_urls_the_relay_would_refuse_are_422_naming_url(api: Api, url: str) -> None:
    """The relay's SSRF rule applies at registration: a clear 422 on ``url``."""
    answer = await api.call("POST", "/subscriptions", as_="member", json={"url": url})

    assert (422, PROBLEM) == (answer.status, answer.content_type)
    assert [("body", "url")] == [(e["location"], e["field"]) for e in answer.body["errors"]]
    assert "refused" in answer.body["errors"][0]["message"]


async def test_allowed_target_networks_let_a_private_url_through(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis
) -> None:
    """``security.allowed_target_networks`` is respected at registration."""
    api = await start_api(
        aiohttp_client, migrated_url, security__allowed_target_networks=["127.0.0.0/8"]
    )

    allowed = await api.call("POST", "/subscriptions", json={"url": "http://127.0.0.1:9/x"})
    refused = await api.call("POST", "/subscriptions", json={"url": "http://10.0.0.1/x"})

    assert (201, 422) == (allowed.status, refused.status)


async def test_bad_fields_are_named_each(api: Api) -> None:
    """Unknown sources, bad type patterns, bad headers and limits: one 422, every field."""
    answer = await api.call(
        "POST",
        "/subscriptions",
        json={
            "url": URL,
            "sources": [SOURCE, "nope"],
            "event_types": ["ok.*", "bad..type"],
            "headers": {"Bad Name": "x"},
            "rate_limit_per_s": 0,
        },
    )
    unknown_source = await api.call(
        "POST", "/subscriptions", json={"url": URL, "sources": [SOURCE, "nope"]}
    )

    assert 422 == answer.status
    fields = {e["field"] for e in answer.body["errors"]}
    assert {"event_types[1]", "rate_limit_per_s"} <= fields
    assert any(field.startswith("headers") for field in fields)
    assert (422, ["sources[1]"]) == (
        unknown_source.status,
        [e["field"] for e in unknown_source.body["errors"]],
    )


async def test_strict_types_are_enforced(api: Api) -> None:
    """``"true"`` is not a boolean and ``"5"`` not a number."""
    answer = await api.call(
        "POST", "/subscriptions", json={"url": URL, "enabled": "true", "rate_limit_per_s": "5"}
    )

    assert {"enabled", "rate_limit_per_s"} == {e["field"] for e in answer.body["errors"]}


async def test_list_shows_members_their_own_and_operators_all(api: Api) -> None:
    """A member lists only its subscriptions; an operator lists everyone's."""
    mine = await add_subscription(api.storage, api.user("member"))
    theirs = await add_subscription(api.storage, api.user("other"))

    member = await api.call("GET", "/subscriptions", as_="member")
    operator = await api.call("GET", "/subscriptions", as_="operator")

    assert [mine.id] == [s["id"] for s in member.body["data"]]
    assert [theirs.id, mine.id] == [s["id"] for s in operator.body["data"]]


async def test_put_replaces_every_field(api: Api) -> None:
    """PUT: fields left out take their defaults; ``url`` is required."""
    subscription = await add_subscription(
        api.storage, api.user("member"), description="old", event_types=("a.*",), enabled=False
    )
    path = f"/subscriptions/{subscription.id}"

    replaced = await api.call(
        "PUT",
        path,
        as_="member",
        json={"url": "https://other.example.org/x", "rate_limit_per_s": 2},
    )
    missing_url = await api.call("PUT", path, as_="member", json={"description": "x"})

    expected = {
        "url": "https://other.example.org/x",
        "description": "",
        "sources": [],
        "event_types": [],
        "enabled": True,
        "headers": {},
        "rate_limit_per_s": 2.0,
    }
    assert (200, expected) == (replaced.status, fields_of(replaced.body))
    assert (422, ["url"]) == (missing_url.status, [e["field"] for e in missing_url.body["errors"]])


async def test_patch_changes_only_what_is_sent(api: Api) -> None:
    """PATCH keeps the rest; null clears the rate limit; a bad URL is still refused."""
    subscription = await add_subscription(
        api.storage, api.user("member"), description="keep", rate_limit_per_s=3.0
    )
    path = f"/subscriptions/{subscription.id}"

    disabled = await api.call("PATCH", path, as_="member", json={"enabled": False})
    cleared = await api.call("PATCH", path, as_="member", json={"rate_limit_per_s": None})
    refused = await api.call("PATCH", path, as_="member", json={"url": "http://10.0.0.1/"})
    nulled = await api.call("PATCH", path, as_="member", json={"description": None})

    assert (200, False, "keep", 3.0) == (
        disabled.status,
        disabled.body["enabled"],
        disabled.body["description"],
        disabled.body["rate_limit_per_s"],
    )
    assert (200, None, False) == (
        cleared.status,
        cleared.body["rate_limit_per_s"],
        cleared.body["enabled"],
    )
    assert (422, ["url"]) == (refused.status, [e["field"] for e in refused.body["errors"]])
    assert (422, ["description"]) == (nulled.status, [e["field"] for e in nulled.body["errors"]])


async def test_credential_headers_are_redacted_and_kept_on_round_trip(api: Api) -> None:
    """Credential-like header values are never shown; PUT of the shown value keeps them."""
    created = await api.call(
        "POST",
        "/subscriptions",
        as_="member",
        json={"url": URL, "headers": {"Authorization": "Bearer s3cret", "X-Team": "billing"}},
    )
    shown = created.body["headers"]
    path = f"/subscriptions/{created.body['id']}"

    await api.call("PUT", path, as_="member", json={"url": URL, "headers": shown})
    stored = await api.storage.subscriptions.get(created.body["id"])

    assert {"authorization": "<redacted>", "x-team": "billing"} == shown
    assert {"authorization": "Bearer s3cret", "x-team": "billing"} == dict(stored.fields.headers)


async def test_redacted_sent_back_in_another_case_keeps_the_stored_value(api: Api) -> None:
    """Issue 10: PATCHing the shown ``<redacted>`` under the name in another case keeps
    the stored key, which is what the relay sends; the marker is never stored."""
    created = await api.call(
        "POST", "/subscriptions", as_="member", json={"url": URL, "headers": {"X-Api-Key": "k-1"}}
    )
    path = f"/subscriptions/{created.body['id']}"

    patched = await api.call(
        "PATCH", path, as_="member", json={"headers": {"x-api-key": "<redacted>", "X-Env": "p"}}
    )
    stored = await api.storage.subscriptions.get(created.body["id"])

    assert (200, {"x-api-key": "<redacted>", "x-env": "p"}) == (
        patched.status,
        patched.body["headers"],
    )
    assert {"x-api-key": "k-1", "x-env": "p"} == dict(stored.fields.headers)


async def test_redacted_without_a_stored_value_is_422_naming_the_header(api: Api) -> None:
    """``<redacted>`` for a header that has no stored value is refused, on create and on
    PATCH, naming ``headers.<name>``; nothing changes."""
    created = await api.call(
        "POST", "/subscriptions", as_="member", json={"url": URL, "headers": {"X-Api-Key": "k"}}
    )
    path = f"/subscriptions/{created.body['id']}"

    on_create = await api.call(
        "POST",
        "/subscriptions",
        as_="member",
        json={"url": URL, "headers": {"X-Tok": "<redacted>"}},
    )
    on_patch = await api.call(
        "PATCH",
        path,
        as_="member",
        json={"headers": {"X-Api-Key": "k2", "Api-Token": "<redacted>"}},
    )
    stored = await api.storage.subscriptions.get(created.body["id"])

    assert (422, PROBLEM, ["headers.X-Tok"]) == (
        on_create.status,
        on_create.content_type,
        [e["field"] for e in on_create.body["errors"]],
    )
    assert (422, ["headers.Api-Token"]) == (
        on_patch.status,
        [e["field"] for e in on_patch.body["errors"]],
    )
    assert {"x-api-key": "k"} == dict(stored.fields.headers)
    assert 1 == len((await api.storage.subscriptions.page()).items)


async def test_header_names_differing_only_in_case_are_422(api: Api) -> None:
    """Two header names that differ only in case are one header given twice: 422 naming
    ``headers``, on create and on PUT."""
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": URL})
    twice = {"X-Api-Key": "a", "x-api-key": "b"}

    on_create = await api.call(
        "POST", "/subscriptions", as_="member", json={"url": URL, "headers": twice}
    )
    on_put = await api.call(
        "PUT",
        f"/subscriptions/{created.body['id']}",
        as_="member",
        json={"url": URL, "headers": twice},
    )

    assert (422, ["headers"]) == (on_create.status, [e["field"] for e in on_create.body["errors"]])
    assert (422, ["headers"]) == (on_put.status, [e["field"] for e in on_put.body["errors"]])


async def test_delete_answers_204_and_cancels_pending_deliveries(api: Api) -> None:
    """DELETE: 204, then 404; its pending deliveries are cancelled, history kept."""
    subscription = await add_subscription(api.storage, api.user("member"))
    delivery = await add_delivery(api.storage, subscription)
    path = f"/subscriptions/{subscription.id}"

    deleted = await api.call("DELETE", path, as_="member")
    after = await api.call("GET", path, as_="member")
    history = await api.call("GET", f"/deliveries/{delivery.id}", as_="operator")

    assert (204, 404) == (deleted.status, after.status)
    assert (200, "cancelled") == (history.status, history.body["status"])


async def test_rotate_secret_keeps_the_old_one_for_the_grace_period(api: Api) -> None:
    """rotate-secret: a new secret; with the default grace both sign; with 0 only the new."""
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": URL})
    sub_id = created.body["id"]
    path = f"/subscriptions/{sub_id}/rotate-secret"

    rotated = await api.call("POST", path, as_="member")
    during_grace = await api.storage.subscriptions.signing_secrets(sub_id)
    rotated_now = await api.call("POST", path, as_="member", json={"grace_s": 0})
    after = await api.storage.subscriptions.signing_secrets(sub_id)
    bad_grace = await api.call("POST", path, as_="member", json={"grace_s": -1})

    assert 200 == rotated.status
    assert (rotated.body["secret"], created.body["secret"]) == during_grace
    assert (rotated_now.body["secret"],) == after
    assert (422, ["grace_s"]) == (bad_grace.status, [e["field"] for e in bad_grace.body["errors"]])


async def test_test_event_creates_one_delivery_and_enqueues_deliver(
    api: Api, queue: ArqRedis
) -> None:
    """POST test: 202 with a pending delivery of a ``hookgate.test`` event to this
    subscription only, and a ``deliver`` job for it."""
    subscription = await add_subscription(api.storage, api.user("member"))
    bystander = await add_subscription(api.storage, api.user("member"))

    answer = await api.call("POST", f"/subscriptions/{subscription.id}/test", as_="member")

    assert (202, "pending", subscription.id) == (
        answer.status,
        answer.body["status"],
        answer.body["subscription_id"],
    )
    assert f"/api/v1/deliveries/{answer.body['id']}" == answer.headers["Location"]
    event = await api.storage.events.get(answer.body["event_id"])
    assert ("hookgate", "hookgate.test") == (event.source, event.type)
    assert event.dispatched_at is not None
    deliveries = (await api.storage.deliveries.page(event_id=event.id)).items
    assert [subscription.id] == [d.subscription_id for d in deliveries]
    assert bystander.id not in {d.subscription_id for d in deliveries}
    jobs = await queue.queued_jobs()
    assert [(DELIVER, [[answer.body["id"]]])] == [(job.function, list(job.args)) for job in jobs]


async def test_test_event_to_a_disabled_subscription_is_409(api: Api) -> None:
    """A disabled subscription would never receive it: 409."""
    subscription = await add_subscription(api.storage, api.user("member"), enabled=False)

    answer = await api.call("POST", f"/subscriptions/{subscription.id}/test", as_="member")

    assert (409, PROBLEM) == (answer.status, answer.content_type)


async def test_unknown_subscription_is_404_everywhere(api: Api) -> None:
    """Every item route answers 404 for an id that does not exist."""
    path = "/subscriptions/sub_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"
    answers = [
        await api.call("GET", path),
        await api.call("PUT", path, json={"url": URL}),
        await api.call("PATCH", path, json={}),
        await api.call("DELETE", path),
        await api.call("POST", f"{path}/rotate-secret"),
        await api.call("POST", f"{path}/test"),
    ]

    assert [404] * 6 == [answer.status for answer in answers]
