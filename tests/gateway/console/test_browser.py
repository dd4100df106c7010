"""The console in a real browser (headless Chromium), against a real gateway on each backend.

What a person sees: signing in and out, every page from the navigation bar, each button
doing what it says, a member kept to its own things, forged POSTs refused, a hostile
event body shown as text, and no page breaking its own Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from storage.records import SubscriptionFields
from tests.gateway.api.conftest import add_attempt, add_delivery, add_event
from tests.gateway.console.conftest import Console, screenshot, sign_in

HOSTILE = b'{"note": "<script>alert(1)</script>", "img": "<img src=x onerror=alert(2)>"}'


async def seed(console: Console) -> dict[str, str]:
    """A member's subscription with a failed delivery of an event holding ``<script>``,
    and another member's subscription; their ids."""
    storage = console.storage
    mine, _ = await storage.subscriptions.create(
        console.people["member"].user.id,
        SubscriptionFields(url="https://hooks.example.org/in", description="Orders"),
    )
    theirs, _ = await storage.subscriptions.create(
        console.people["other"].user.id, SubscriptionFields(url="https://other.example.org/in")
    )
    event_id = await add_event(storage, body=HOSTILE)
    delivery = await add_delivery(storage, mine, event_id)
    await add_attempt(storage, delivery, 500)
    return {"mine": mine.id, "theirs": theirs.id, "event": event_id, "delivery": delivery.id}


def watch(page: Any) -> list[str]:
    """Collect dialogs (a script that ran) and console errors (a CSP violation) of ``page``."""
    seen: list[str] = []

    async def dismiss(dialog: Any) -> None:
        seen.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("console", lambda m: seen.append(f"console: {m.text}") if m.type == "error" else None)
    return seen


async def test_every_page_opens_from_the_navigation_bar(browser: Any, console: Console) -> None:
    """An admin signs in, follows each navigation link, sees each page's heading, and every
    page carries the CSP; nothing breaks it and nothing runs from the event body."""
    ids = await seed(console)
    page = await sign_in(browser, console, "admin")
    problems = watch(page)
    headings = {}
    policies = set()
    for link in ("Overview", "Events", "Deliveries", "Subscriptions", "Live"):
        async with page.expect_response(lambda r: r.request.resource_type == "document") as info:
            await page.get_by_role("navigation").get_by_role("link", name=link, exact=True).click()
        policies.add((await info.value).headers.get("content-security-policy", ""))
        headings[link] = (await page.locator("h1").inner_text()).split("\n")[0]
        await screenshot(page, link.lower())
    assert {
        "Overview": "Overview last 24 hours",
        "Events": "Events",
        "Deliveries": "Deliveries",
        "Subscriptions": "Subscriptions",
        "Live": "Live newest first",
    } == headings
    [policy] = policies
    assert (
        "default-src 'self'; script-src 'self'"
        == policy[: len("default-src 'self'; script-src 'self'")]
    )
    for path, name in (
        (f"/events/{ids['event']}", "event"),
        (f"/deliveries/{ids['delivery']}", "delivery"),
        (f"/subscriptions/{ids['mine']}", "subscription"),
        ("/subscriptions/new", "subscription-new"),
    ):
        await page.goto(console.base + path)
        await screenshot(page, name)
    await page.goto(f"{console.base}/events/{ids['event']}")
    assert "<script>alert(1)</script>" in await page.locator("pre.body").inner_text()
    assert 0 == await page.locator("main script, main img").count()
    await page.wait_for_timeout(300)
    assert [] == problems


async def test_a_bad_key_is_refused_and_signing_out_ends_the_session(
    browser: Any, console: Console
) -> None:
    """A wrong key gets 401 and ``Invalid API key``; after ``Sign out`` the old cookie
    opens nothing (the session ended server-side)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{console.base}/login")
    await screenshot(page, "login")
    await page.get_by_label("API key").fill("hg_wrong")
    async with page.expect_response(f"{console.base}/login") as info:
        await page.get_by_role("button", name="Sign in").click()
    assert (401, "Invalid API key") == (
        (await info.value).status,
        await page.get_by_role("alert").inner_text(),
    )
    page = await sign_in(browser, console, "operator")
    cookies = await page.context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{console.base}/login")
    stale = await browser.new_context()
    await stale.add_cookies(cookies)
    replayed = await stale.new_page()
    await replayed.goto(f"{console.base}/events")
    assert f"{console.base}/login" == replayed.url


async def test_each_subscription_button_does_what_it_says(browser: Any, console: Console) -> None:
    """A member registers a subscription (its secret shown once), edits it, sends a test
    event, rotates the secret, disables and enables it."""
    page = await sign_in(browser, console, "member")
    await page.goto(f"{console.base}/subscriptions/new")
    await page.get_by_label("URL").fill("https://hooks.example.org/new")
    await page.get_by_label("Description").fill("Invoices")
    await page.get_by_label("Event types").fill("invoice.*, refund.created")
    await page.get_by_role("button", name="Create subscription").click()
    first_secret = await page.locator(".secret code").inner_text()
    assert first_secret.startswith("whsec_")
    sub_url = page.url
    [created] = (await console.storage.subscriptions.page()).items
    assert (("invoice.*", "refund.created"), "Invoices") == (
        created.fields.event_types,
        created.fields.description,
    )
    await page.goto(f"{console.base}/subscriptions/{created.id}")
    assert 0 == await page.locator(".secret").count()
    await page.get_by_label("Description").fill("Invoices and refunds")
    await page.get_by_role("button", name="Save").click()
    assert "Invoices and refunds" == await page.get_by_label("Description").input_value()
    await page.get_by_role("button", name="Rotate secret").click()
    second_secret = await page.locator(".secret code").inner_text()
    assert (True, False) == (second_secret.startswith("whsec_"), second_secret == first_secret)
    await page.get_by_role("button", name="Send test event").click()
    assert "/console/deliveries/dlv_" in page.url
    await page.goto(f"{console.base}/subscriptions/{created.id}")
    await page.get_by_role("button", name="Disable").click()
    assert "disabled" == await page.locator("h1 .status").inner_text()
    await page.get_by_role("button", name="Enable").click()
    assert "healthy" == await page.locator("h1 .status").inner_text()
    assert sub_url.startswith(f"{console.base}/subscriptions")


async def test_operators_retry_and_replay(browser: Any, console: Console) -> None:
    """An operator's ``Retry`` makes a failed delivery pending; ``Replay`` adds a delivery
    to each subscription matching the event now (both seeded ones match everything)."""
    ids = await seed(console)
    page = await sign_in(browser, console, "operator")
    await page.goto(f"{console.base}/deliveries/{ids['delivery']}")
    assert "failed" == await page.locator("dl.meta .status").inner_text()
    await page.get_by_role("button", name="Retry").click()
    assert "pending" == await page.locator("dl.meta .status").inner_text()
    await page.goto(f"{console.base}/events/{ids['event']}")
    rows = page.locator("main table:last-of-type tbody tr")
    before = await rows.count()
    await page.get_by_role("button", name="Replay").click()
    assert (1, 3) == (before, await rows.count())


async def test_a_member_sees_only_its_own(browser: Any, console: Console) -> None:
    """Another member's subscription is a 404 page; the member's own event and delivery
    show no operator buttons; the lists hold only its own."""
    ids = await seed(console)
    page = await sign_in(browser, console, "member")
    response = await page.goto(f"{console.base}/subscriptions/{ids['theirs']}")
    assert (404, "Not found") == (response.status, await page.locator("h1").inner_text())
    await page.goto(f"{console.base}/events/{ids['event']}")
    assert 0 == await page.get_by_role("button", name="Replay").count()
    await page.goto(f"{console.base}/deliveries/{ids['delivery']}")
    assert 0 == await page.get_by_role("button", name="Retry").count()
    await page.goto(f"{console.base}/subscriptions")
    assert [f"/console/subscriptions/{ids['mine']}"] == await page.locator(
        "tbody td:first-child a"
    ).evaluate_all("links => links.map(a => a.getAttribute('href'))")
    other = await sign_in(browser, console, "other")
    response = await other.goto(f"{console.base}/events/{ids['event']}")
    assert 404 == response.status


async def test_a_post_without_the_csrf_token_changes_nothing(
    browser: Any, console: Console
) -> None:
    """A POST with the session cookie but no (or a wrong) token is 403; the subscription
    stays enabled."""
    ids = await seed(console)
    page = await sign_in(browser, console, "member")
    url = f"{console.base}/subscriptions/{ids['mine']}/enabled"
    missing = await page.request.post(url, form={"enabled": "false"}, max_redirects=0)
    forged = await page.request.post(
        url, form={"enabled": "false", "csrf": "0" * 64}, max_redirects=0
    )
    subscription = await console.storage.subscriptions.get(ids["mine"])
    assert (403, 403, True) == (missing.status, forged.status, subscription.fields.enabled)


async def test_the_live_page_shows_what_happens_while_it_is_open(
    browser: Any, console: Console
) -> None:
    """With JavaScript on, an event stored and an attempt recorded after the page opened
    appear at the top of their tables, from the stream (no reload, nothing against the
    CSP); the rows the page was served with stay below."""
    ids = await seed(console)
    page = await sign_in(browser, console, "admin")
    problems = watch(page)
    await page.goto(f"{console.base}/live")
    await page.get_by_text("Live: events and attempts appear").wait_for(timeout=5000)
    served = await page.locator("#live-events tbody tr").count()
    late = await add_event(console.storage, event_type="late.arrival")
    first_event = page.locator("#live-events tbody tr").first
    await first_event.get_by_text("late.arrival").wait_for(timeout=6000)
    mine = await console.storage.subscriptions.get(ids["mine"])
    await add_attempt(console.storage, await add_delivery(console.storage, mine, late), 503)
    first_attempt = page.locator("#live-deliveries tbody tr").first
    await first_attempt.get_by_text("failed").wait_for(timeout=6000)
    assert (served + 1, "https://hooks.example.org/in") == (
        await page.locator("#live-events tbody tr").count(),
        await first_attempt.locator("td").nth(1).inner_text(),
    )
    assert [] == problems


async def test_without_javascript_the_live_page_lists_the_latest(
    browser: Any, console: Console
) -> None:
    """With JavaScript off the live page is still the newest events and deliveries, as
    stored when it was served; it says to reload for newer ones."""
    ids = await seed(console)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{console.base}/login")
    await page.get_by_label("API key").fill(console.people["admin"].key)
    await page.get_by_role("button", name="Sign in").click()
    await page.goto(f"{console.base}/live")
    assert (
        [f"/console/events/{ids['event']}"],
        [f"/console/deliveries/{ids['delivery']}"],
        True,
    ) == (
        await page.locator("#live-events a").evaluate_all(
            "a => a.map(x => x.getAttribute('href'))"
        ),
        await page.locator("#live-deliveries a").evaluate_all(
            "a => a.map(x => x.getAttribute('href'))"
        ),
        "reload the page" in await page.locator("#live-state").inner_text(),
    )
