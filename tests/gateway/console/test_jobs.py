"""``Retry all matching`` in a real browser (headless Chromium), on each backend: the job
it starts, its page following the job until it ends, and who it may touch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.queue import Queue
from relay.bulk import BulkRunner
from storage.records import Delivery, Subscription, SubscriptionFields
from tests.gateway.api.conftest import add_attempt, add_delivery
from tests.gateway.conftest import REDIS_URL
from tests.gateway.console.conftest import Console, screenshot, sign_in


@pytest.fixture
async def runner(console: Console) -> AsyncIterator[BulkRunner]:
    """The bulk runner a worker would run (one delivery a batch, so progress shows), on
    the console's storage; not started."""
    queue = Queue.connect(REDIS_URL)
    yield BulkRunner(
        storage=console.storage, queue=queue, handlers=(), poll_interval_s=0.2, batch=1
    )
    await queue.close()


async def failed(console: Console, subscription: Subscription) -> Delivery:
    """A delivery to ``subscription`` whose attempts are exhausted."""
    return await add_attempt(
        console.storage, await add_delivery(console.storage, subscription), 500
    )


async def subscription(console: Console, who: str) -> Subscription:
    """A new subscription of ``who``."""
    created, _ = await console.storage.subscriptions.create(
        console.people[who].user.id, SubscriptionFields(url=f"https://{who}.example.org/in")
    )
    return created


async def test_retry_all_matching_follows_the_job_until_it_succeeds(
    browser: Any, console: Console, runner: BulkRunner
) -> None:
    """A member filters its failed deliveries and presses ``Retry all matching``: the job's
    page shows it running, then — without a reload, as a worker gets through it — 3 of 3
    done and ``succeeded``; the member's deliveries are pending again, another member's
    failed one is untouched, and that other member cannot open the job."""
    mine = await subscription(console, "member")
    theirs = await subscription(console, "other")
    retried = [await failed(console, mine) for _ in range(3)]
    untouched = await failed(console, theirs)
    page = await sign_in(browser, console, "member")
    await page.goto(f"{console.base}/deliveries?status=failed")
    await page.get_by_role("button", name="Retry all matching").click()
    await page.wait_for_url(f"{console.base}/jobs/job_*")
    before = (
        await page.locator(".job-status").inner_text(),
        await page.locator(".job-counts").inner_text(),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        await page.locator(".job-status").get_by_text("succeeded").wait_for(timeout=10_000)
    finally:
        stop.set()
        await running
    await screenshot(page, "job")
    progress = page.locator("progress")
    after = (
        await page.locator(".job-counts strong").all_inner_texts(),
        await progress.get_attribute("value"),
        await progress.get_attribute("max"),
    )
    statuses = [(await console.storage.deliveries.get(d.id)).status for d in retried]
    assert (("running", "0 of 3 done"), (["3", "3"], "3", "3")) == (
        (before[0], before[1][: len("0 of 3 done")]),
        after,
    )
    assert (["pending"] * 3, "failed") == (
        statuses,
        (await console.storage.deliveries.get(untouched.id)).status,
    )
    other = await sign_in(browser, console, "other")
    response = await other.goto(page.url)
    assert 404 == response.status


async def test_retry_all_matching_keeps_to_the_filters(
    browser: Any, console: Console, runner: BulkRunner
) -> None:
    """An operator's retry filtered by subscription and event retries that one delivery
    only; with JavaScript off the job's page reads by reloading."""
    first = await subscription(console, "member")
    second = await subscription(console, "other")
    target = await failed(console, first)
    same_event = await add_attempt(
        console.storage, await add_delivery(console.storage, second, target.event_id), 500
    )
    elsewhere = await failed(console, first)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{console.base}/login")
    await page.get_by_label("API key").fill(console.people["operator"].key)
    await page.get_by_role("button", name="Sign in").click()
    await page.goto(
        f"{console.base}/deliveries?status=failed&subscription_id={first.id}"
        f"&event_id={target.event_id}"
    )
    await page.get_by_role("button", name="Retry all matching").click()
    await page.wait_for_url(f"{console.base}/jobs/job_*")
    await runner.run_due()
    await page.reload()
    statuses = [
        (await console.storage.deliveries.get(d.id)).status for d in (target, same_event, elsewhere)
    ]
    assert ("succeeded", "1 of 1 done", ["pending", "failed", "failed"]) == (
        await page.locator(".job-status").inner_text(),
        (await page.locator(".job-counts").inner_text())[: len("1 of 1 done")],
        statuses,
    )
