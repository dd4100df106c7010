"""``/users`` and API keys: every route's happy path and its errors."""

from __future__ import annotations

from storage.records import Target
from tests.gateway.api.conftest import Api, add_event, add_subscription

PROBLEM = "application/problem+json"


async def test_create_user_answers_201_with_location_and_a_working_key(api: Api) -> None:
    """POST /users: 201, Location of the user, the first key once; the key authenticates."""
    created = await api.call(
        "POST", "/users", json={"name": "Dana", "email": "dana@example.com", "role": "member"}
    )

    assert 201 == created.status
    user_id = created.body["id"]
    assert f"/api/v1/users/{user_id}" == created.headers["Location"]
    assert {"name": "Dana", "email": "dana@example.com", "role": "member"} == {
        k: created.body[k] for k in ("name", "email", "role")
    }
    assert created.body["api_key"].startswith("hg_")
    assert created.body["created_at"].endswith("Z")
    me = await api.call("GET", "/users/me", key=created.body["api_key"])
    assert (200, user_id) == (me.status, me.body["id"])
    shown = await api.call("GET", f"/users/{user_id}")
    assert "api_key" not in shown.body


async def test_create_user_refuses_bad_fields_per_field(api: Api) -> None:
    """A 422 lists each bad field with where it was sent; unknown fields are refused."""
    answer = await api.call(
        "POST", "/users", json={"name": " ", "email": "nope", "role": "root", "extra": 1}
    )

    assert (422, PROBLEM) == (answer.status, answer.content_type)
    assert {"name", "email", "role", "extra"} == {e["field"] for e in answer.body["errors"]}
    assert {"body"} == {e["location"] for e in answer.body["errors"]}


async def test_create_user_with_a_taken_email_is_409(api: Api) -> None:
    """Two users cannot share an e-mail address."""
    answer = await api.call(
        "POST", "/users", json={"name": "X", "email": "member@example.com", "role": "member"}
    )

    assert (409, PROBLEM) == (answer.status, answer.content_type)


async def test_malformed_json_is_400_and_missing_body_is_422(api: Api) -> None:
    """Broken JSON is a 400; no body at all where one is required is a 422."""
    broken = await api.call("POST", "/users", data=b'{"name": ')
    empty = await api.call("POST", "/users", data=b"")

    assert (400, PROBLEM) == (broken.status, broken.content_type)
    assert (422, [""]) == (empty.status, [e["field"] for e in empty.body["errors"]])


async def test_list_users_pages_newest_first(api: Api) -> None:
    """GET /users pages through every user once, newest first."""
    first = await api.call("GET", "/users?limit=3")
    second = await api.call("GET", f"/users?limit=3&cursor={first.body['next_cursor']}")

    ids = [u["id"] for u in first.body["data"] + second.body["data"]]
    expected = sorted((c.user.id for c in api.callers.values()), reverse=True)
    assert expected == ids
    assert second.body["next_cursor"] is None


async def test_get_me_and_get_user(api: Api) -> None:
    """GET /users/me is the caller; GET /users/{id} a user; an unknown id is 404."""
    me = await api.call("GET", "/users/me", as_="member")
    other = await api.call("GET", f"/users/{api.user('other').id}", as_="operator")
    missing = await api.call("GET", "/users/usr_nope")

    assert (200, api.user("member").id, "member") == (me.status, me.body["id"], me.body["role"])
    assert (200, "other@example.com") == (other.status, other.body["email"])
    assert (404, PROBLEM) == (missing.status, missing.content_type)


async def test_patch_user_changes_only_the_fields_sent(api: Api) -> None:
    """PATCH keeps what is not sent; null is refused for a field that cannot be null."""
    user_id = api.user("member").id

    patched = await api.call("PATCH", f"/users/{user_id}", json={"role": "operator"})
    nulled = await api.call("PATCH", f"/users/{user_id}", json={"name": None})

    assert (200, "operator", "member") == (
        patched.status,
        patched.body["role"],
        patched.body["name"],
    )
    assert (422, ["name"]) == (nulled.status, [e["field"] for e in nulled.body["errors"]])


async def test_admin_cannot_change_own_role_or_delete_itself(api: Api) -> None:
    """An admin cannot lock itself out: own role change and self-deletion are 409."""
    admin_id = api.user("admin").id

    demoted = await api.call("PATCH", f"/users/{admin_id}", json={"role": "member"})
    renamed = await api.call("PATCH", f"/users/{admin_id}", json={"name": "Root"})
    deleted = await api.call("DELETE", f"/users/{admin_id}")

    assert (409, 200, 409) == (demoted.status, renamed.status, deleted.status)


async def test_delete_user_revokes_access(api: Api) -> None:
    """DELETE answers 204 and the user's key no longer works; deleting again is 404."""
    user_id = api.user("other").id

    deleted = await api.call("DELETE", f"/users/{user_id}")
    after = await api.call("GET", "/users/me", as_="other")
    again = await api.call("DELETE", f"/users/{user_id}")

    assert (204, b"") == (deleted.status, deleted.body)
    assert (401, 404) == (after.status, again.status)


async def test_issue_list_get_and_revoke_keys(api: Api) -> None:
    """A member issues itself a key (201 + Location), both keys work, a revoked one is 401
    and stays listed with ``revoked_at``."""
    user_id = api.user("member").id

    issued = await api.call("POST", f"/users/{user_id}/keys", as_="member")
    new_key = issued.body["api_key"]
    shown = await api.call("GET", issued.headers["Location"].removeprefix("/api/v1"), as_="member")
    old_works = await api.call("GET", "/users/me", as_="member")
    new_works = await api.call("GET", "/users/me", key=new_key)
    revoked = await api.call("DELETE", f"/users/{user_id}/keys/{issued.body['id']}", as_="member")
    after = await api.call("GET", "/users/me", key=new_key)
    listed = await api.call("GET", f"/users/{user_id}/keys", as_="member")

    assert 201 == issued.status
    assert new_key.startswith(issued.body["prefix"])
    assert (200, issued.body["id"], None) == (
        shown.status,
        shown.body["id"],
        shown.body["revoked_at"],
    )
    assert (200, 200) == (old_works.status, new_works.status)
    assert (204, 401) == (revoked.status, after.status)
    states = {key["id"]: key["revoked_at"] is not None for key in listed.body["data"]}
    assert 2 == len(states)
    assert states[issued.body["id"]]
    assert "api_key" not in listed.body["data"][0]


async def test_revoking_twice_or_an_unknown_key_is_404(api: Api) -> None:
    """A key already revoked, or not the user's, is not found."""
    user_id = api.user("member").id
    issued = await api.call("POST", f"/users/{user_id}/keys", as_="member")
    path = f"/users/{user_id}/keys/{issued.body['id']}"

    first = await api.call("DELETE", path, as_="member")
    second = await api.call("DELETE", path, as_="member")
    unknown = await api.call("GET", f"/users/{user_id}/keys/key_nope", as_="member")

    assert (204, 404, 404) == (first.status, second.status, unknown.status)


async def test_delete_user_owning_subscriptions_is_409_and_history_survives(api: Api) -> None:
    """Issue 10: a user with live subscriptions is not deleted (409 saying what to do);
    once they are deleted it is, and their deliveries stay readable."""
    member = api.user("other")
    subscription = await add_subscription(api.storage, member)
    event_id = await add_event(api.storage)
    created = await api.storage.deliveries.create(
        [(event_id, [Target(subscription.id, subscription.fields.url)])], first_dispatch=True
    )
    [delivery] = created[event_id]

    refused = await api.call("DELETE", f"/users/{member.id}")
    await api.call("DELETE", f"/subscriptions/{subscription.id}", as_="other")
    deleted = await api.call("DELETE", f"/users/{member.id}")
    history = await api.call("GET", f"/deliveries/{delivery.id}", as_="operator")

    assert (409, PROBLEM, "the user owns 1 subscription; delete or reassign them first") == (
        refused.status,
        refused.content_type,
        refused.body["detail"],
    )
    assert 204 == deleted.status
    assert (200, "cancelled") == (history.status, history.body["status"])
