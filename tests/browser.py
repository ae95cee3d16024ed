"""Playwright helpers: the machine's Chromium, sign-in through the real form, screenshots.

Debian's Chromium is used rather than Playwright's download so that the test needs nothing
from the network; when it is missing the browser test fails, it never skips.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.live import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: install Debian's chromium package; "
            "the browser test must run, it is never skipped"
        )
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            yield browser
        finally:
            browser.close()


def _launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)


def offline(page: Page, base_url: str) -> list[str]:
    """Refuse every request that leaves the test server, and keep a list of them: a page
    that loads anything from the network fails on an intranet without it."""
    escaped: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(base_url) or url.startswith(("data:", "about:")):
            r.continue_()
        else:
            escaped.append(url)
            r.abort()

    page.route("**/*", route)
    return escaped


def console_errors(page: Page) -> list[str]:
    """Errors the page reports, a refused Content-Security-Policy among them."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def sign_in(page: Page, base_url: str, username: str, *, lands: str = r"/inbox$") -> None:
    """Through the login form; ``lands`` is where this person's home page is (the inbox,
    or a leader's board)."""
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(lands))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/screenshots/, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def phone_shot(browser: Browser, url: str, cookies_from: Page, name: str) -> Path:
    """The same page at phone width (390×844), in a second context signed in as the first."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    try:
        context.add_cookies(cookies_from.context.cookies())  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(url)
        return shot(page, name)
    finally:
        context.close()
