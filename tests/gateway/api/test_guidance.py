"""422 messages that tell the caller how to get unstuck, not only what was wrong."""

from __future__ import annotations

import pytest

from tests.gateway.api.conftest import Api


async def message_for(api: Api, url: str) -> str:
    """The 422 message about ``url`` when registering it."""
    answer = await api.call("POST", "/subscriptions", as_="member", json={"url": url})
    assert 422 == answer.status
    [problem] = answer.body["errors"]
    assert "url" == problem["field"]
    message: str = problem["message"]
    return message


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "http://127.0.0.1:9000/hook"])
async def test_private_url_names_the_setting_that_allows_it(api: Api, url: str) -> None:
    """A private or loopback target says which setting lets it through."""
    assert "security.allowed_target_networks" in await message_for(api, url)


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data", "ftp://hooks.example.org/in"]
)
async def test_refusals_no_setting_can_lift_do_not_point_at_it(api: Api, url: str) -> None:
    """A metadata endpoint or a bad scheme is refused whatever the allow-list says, so
    the message does not send the caller there."""
    assert "allowed_target_networks" not in await message_for(api, url)


async def test_an_unreadable_time_says_which_forms_are_accepted(api: Api) -> None:
    """``since=yesterday`` answers with the accepted form, not pydantic's jargon."""
    answer = await api.call("GET", "/events?since=yesterday", as_="operator")

    assert 422 == answer.status
    [problem] = answer.body["errors"]
    assert ("query", "since") == (problem["location"], problem["field"])
    assert "RFC 3339" in problem["message"]
    assert "2026-12-01T09:30:00Z" in problem["message"]
