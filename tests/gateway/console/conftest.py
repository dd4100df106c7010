"""Console fixtures: a real gateway on a free port (each backend), seeded users, Chromium.

The browser is Debian's ``chromium`` driven by Playwright (no browser download);
without ``/usr/bin/chromium`` the browser tests skip, saying so (CI installs it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway import state
from storage import Storage
from storage.records import User
from tests.gateway.conftest import LiveGateway, StartGateway

CHROMIUM = Path("/usr/bin/chromium")
HAS_CHROMIUM = CHROMIUM.exists()  # looked up once, at collection
SCREENSHOTS = os.environ.get("HOOKGATE_SCREENSHOTS")  # a folder: write the pages' pictures


@dataclass(frozen=True)
class Person:
    """A user and its API key."""

    user: User
    key: str


@dataclass(frozen=True)
class Console:
    """A running gateway's console, its storage and one user per role."""

    gateway: LiveGateway
    people: dict[str, Person]

    @property
    def base(self) -> str:
        """The console's URL."""
        return f"http://127.0.0.1:{self.gateway.port}/console"

    @property
    def storage(self) -> Storage:
        """The gateway's storage."""
        return self.gateway.app[state.STORAGE]


@pytest.fixture
async def console(start_gateway: StartGateway) -> Console:
    """A gateway served on a free port with an admin, an operator and two members."""
    gateway = await start_gateway(server={"public_url": "http://127.0.0.1"})
    storage = gateway.app[state.STORAGE]
    people = {}
    for name, role in (
        ("admin", "admin"),
        ("operator", "operator"),
        ("member", "member"),
        ("other", "member"),
    ):
        user, key = await storage.users.create(name.title(), f"{name}@example.com", role)
        people[name] = Person(user, key)
    return Console(gateway, people)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (Debian's), through Playwright."""
    if not HAS_CHROMIUM:
        pytest.skip("no /usr/bin/chromium here (apt-get install chromium; .ci/run installs it)")
    from playwright.async_api import async_playwright  # noqa: PLC0415  (needs the browser)

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        await launched.close()


async def sign_in(browser: Any, console: Console, who: str) -> Any:
    """A page of a fresh browser context, signed in as ``who`` through the form."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{console.base}/login")
    await page.get_by_label("API key").fill(console.people[who].key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{console.base}/")
    return page


async def screenshot(page: Any, name: str) -> None:
    """Save what ``page`` shows as ``name``.png when ``HOOKGATE_SCREENSHOTS`` is set."""
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        await page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)
