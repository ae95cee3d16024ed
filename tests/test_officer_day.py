"""A school officer's day in a real browser, at desktop and at phone width: search the inbox
for a teacher, open the declaration and read the teacher's record beside it, hand one task to
a colleague (转交), copy a case to the principal (抄送), approve the rest in one batch, then
mark every notice read. Screenshots of each step go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from states.store.models import Case, CaseCopy, Person, Task
from tests.browser import DESKTOP, PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import Live, add_account
from tests.test_api import _ids
from tests.test_inbox import _colleagues, _ticked


def _rows(page: Page) -> int:
    return page.locator("main table.list tbody tr").count()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_officers_day(live: Live, size: str) -> None:
    ids = _ids(live)
    cases = _colleagues(live, ids["school"], 4)
    colleague = add_account(live, "officer2", "school_officer", ids["school"])
    _ticked(live)  # the notices of new work reach the inbox
    db = live.services.db
    with db.connect() as conn:
        names = dict(
            conn.execute(
                select(Case.id, Person.name)
                .join(Person, Person.id == Case.applicant_id)
                .where(Case.id.in_(cases))
            ).all()
        )
    first = cases[0]
    phone = size == "phone"
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP, is_mobile=phone, locale="zh-CN"
        )
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "school_officer")
        expect(page.locator("main input[name=item]")).to_have_count(4)
        shot(page, f"day-1-inbox-{size}")

        # search by name: one declaration
        page.get_by_label("搜索").fill(names[first])
        page.get_by_role("button", name="查询").click()
        expect(page.locator("#filtered-total")).to_contain_text("共 1 件")
        assert _rows(page) == 1
        shot(page, f"day-2-search-{size}")

        # open it: the teacher's record beside the declaration
        page.locator("main table.list a[href^='/cases/']").first.click()
        expect(page).to_have_url(re.compile(rf"/cases/{first}$"))
        record = page.locator("#record")
        expect(record).to_be_visible()
        expect(record).to_contain_text("职称")
        expect(record).to_contain_text("教龄")
        shot(page, f"day-3-case-{size}")

        # 转交 to the colleague
        page.locator("details:has(#transfer) > summary").click()
        page.locator(f"#transfer input[name=to_person_id][value='{colleague}']").check()
        page.locator("#transfer button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("待办已转交给")
        shot(page, f"day-4-transferred-{size}")

        # 抄送 a second case to the principal
        page.goto(f"{live.url}/cases/{cases[1]}")
        page.locator("details:has(#copies) > summary").click()
        page.locator(f"#copies input[name=person_ids][value='{ids['principal']}']").check()
        page.locator("#copies button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("抄送")
        shot(page, f"day-5-copied-{size}")

        # back to the inbox: the transferred case is gone; approve the other three at once
        page.goto(f"{live.url}/inbox")
        expect(page.locator("main input[name=item]")).to_have_count(3)
        if phone:
            page.get_by_label("全选本页").check()
        else:
            page.get_by_label("全选", exact=True).check()
        page.locator("#batch-event").select_option(label="学校审核通过")
        page.locator("#batch button[type=submit]").click()
        expect(page.locator("#batch-outcome")).to_contain_text("成功 3 件，失败 0 件")
        shot(page, f"day-6-batch-{size}")

        # and the notices: all read
        page.get_by_role("button", name="全部已读").first.click()
        expect(page.locator("#notes-h .count")).to_have_text("0")
        shot(page, f"day-7-read-{size}")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"

    with db.connect() as conn:
        mine = conn.execute(
            select(Task.assignee_id).where(Task.case_id == first, Task.status == "open")
        ).scalar_one()
        assert mine == colleague, "the transferred task is the colleague's"
        copied = conn.execute(
            select(CaseCopy.person_id).where(CaseCopy.case_id == cases[1])
        ).scalars()
        assert list(copied) == [ids["principal"]]
        states = dict(conn.execute(select(Case.id, Case.state).where(Case.id.in_(cases))).all())
    assert states[first] == "school_review"
    assert {states[c] for c in cases[1:]} == {"school_publicity"}
