"""The demo `make run` prints, in a real browser: every printed account signs in with the
printed password and reaches its first piece of work from the page it lands on — the
teachers declare the title printed beside them, the two officers at the demo school and
county each find a case waiting, the city its committee sitting, the expert a vote, the
province officer the pages that load a bureau's own data, the principal, the inspector and
the leader the cases of their scope.

The province is the one the demo builds (`api.demo.walk`: seeded through the imports, a
title-review round walked through the CLI), served on a clock inside the year's declaration
window."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api import demo
from states.clock import FrozenClock, bureau_time
from states.org import TITLE_LABELS
from states.seed.province import DEMO_DECLARES, DEMO_ROLES
from tests.browser import chromium, sign_in
from tests.live import Live, serve

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.chdir(tmp_path)  # the demo keeps its files under var/
    monkeypatch.setenv("RENSHI_DATABASE_URL", url)
    demo.walk(dt.date(2026, 10, 12))
    with serve(url, FrozenClock(bureau_time(2026, 10, 12, 9)), tmp_path / "files") as live:
        yield live


def _waiting(page: Page, step: str) -> None:
    """The inbox lists a case at ``step``; opening it offers this person an action."""
    row = page.locator("main table.list tbody").get_by_text(step).first
    expect(row).to_be_visible()
    page.locator("main a[href^='/cases/']").first.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("main form button[type=submit]").first).to_be_visible()


def test_every_printed_account_reaches_its_first_action(db_url: str, site: Live) -> None:
    assert os.environ["RENSHI_DATABASE_URL"].startswith("sqlite")
    printed = [name for name, _ in DEMO_ROLES]
    assert set(DEMO_DECLARES) <= set(printed)
    with chromium() as browser:
        for username in printed:
            context = browser.new_context()
            page = context.new_page()
            # lands on the inbox (no forced password change); the leader and the inspector
            # on the leaders' board, their home page
            board = username in ("inspector", "leader")
            sign_in(page, site.url, username, lands=r"/tasks/board$" if board else r"/inbox$")
            if username in DEMO_DECLARES:
                title = TITLE_LABELS[DEMO_DECLARES[username]]
                page.get_by_role("link", name=re.compile("申报$")).first.click()
                page.get_by_label("申报职称").select_option(label=title)
                page.get_by_label("个人述职").fill("任教以来认真履职，教学成绩突出。")
                page.get_by_role("button", name=re.compile("提交")).first.click()
                expect(page).to_have_url(re.compile(r"/cases/\d+$"))
                expect(page.locator("main")).to_contain_text("学校审核")
            elif username in ("school_officer", "school_officer2"):
                _waiting(page, "学校审核")
            elif username in ("county_officer", "county_officer2"):
                _waiting(page, "县级资格审查")
            elif username in ("city_officer", "expert"):
                _waiting(page, "评审委员会评审")
            elif username == "province_officer":
                for label in ("机构", "教师名册", "账号与角色"):
                    expect(page.get_by_role("link", name=label).first).to_be_visible()
                page.get_by_role("link", name="教师名册").first.click()
                expect(page.locator("main input[type=file]").first).to_be_attached()
            else:  # principal, inspector, leader: the cases of their scope, to read
                page.get_by_role("link", name="事项").first.click()
                expect(page.locator("main a[href^='/cases/']").first).to_be_visible()
            context.close()
