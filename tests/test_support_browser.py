"""A receiving school's personnel officer files a monthly check-in (月度考勤) on a phone, in a
real Chromium at 390 px: signs in through the form, follows the navigation to the school's
support page and its check-in inbox, fills one month's card, submits, and sees it filed;
nothing on the way scrolls sideways, loads from the network or reports an error, and the
filed months' table folds into cards that say what each cell is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from states.clock import FrozenClock
from states.processes.support_teaching import applications, checkins, needs
from states.seed.builders import close_window, fire_current
from tests.browser import PHONE, chromium, console_errors, offline, shot, sign_in
from tests.live import Live, serve
from tests.test_support_pages import NAMES, NEED, _county, _only, _to
from tests.world import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def county(world: World) -> World:
    return _county(world)


@pytest.fixture
def live(db_url: str, county: World, tmp_path: Path, clock: FrozenClock) -> Iterator[Live]:
    with serve(db_url, clock, tmp_path / "files") as server:
        yield server


def _on_site(live: Live, w: World) -> int:
    """u1 of the urban school dispatched to the rural school on 9 October; on 2 November the
    sweep has opened October's and November's check-ins."""
    eng = live.services.engine
    officer = w.actors["county_officer"]
    need = needs.declare_need(eng, w.actors["rural_officer"], {**NEED, "places": 1}).case_id
    fire_current(eng, need, "approve", officer)
    app = applications.volunteer(eng, w.actors["u1"], need).case_id
    fire_current(eng, app, "confirm", w.actors["school_officer"])
    fire_current(eng, app, "select_teacher", officer)
    term = _only(live, "support_term", need_id=need)
    close_window(eng, live.clock, term)
    _to(live.clock, dt.date(2026, 10, 9))
    fire_current(eng, term, "dispatch_teacher", officer, {"on": "2026-10-09"})
    _to(live.clock, dt.date(2026, 11, 2))
    assert checkins.open_checkins(eng)["opened"] == 2
    return term


def test_a_receiving_school_files_a_check_in_on_a_phone(live: Live, county: World) -> None:
    term = _on_site(live, county)
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        page = context.new_page()
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "rural_officer")
        page.get_by_role("link", name="支教").first.click()
        expect(page.get_by_role("heading", name="东县乡村小学：支教")).to_be_visible()
        page.locator("#checkins-link").click()
        expect(page.get_by_role("heading", name="月度考勤")).to_be_visible()
        card = page.locator(f"#checkin-{term}-2026-10")
        expect(card).to_contain_text(NAMES["u1"])
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the inbox scrolls sideways ({width}px)"
        shot(page, "support-01-checkins-phone")
        card.get_by_label("出勤天数").fill("21")
        card.get_by_label("授课课时").fill("64")
        card.get_by_label("表现评价").fill("按时到岗，教学认真，学生反映良好。")
        card.get_by_role("button", name="提交2026-10考勤").click()
        expect(page.locator(".notice.ok")).to_contain_text(f"已填报{NAMES['u1']}2026-10的月度考勤")
        expect(page.locator(f"#checkin-{term}-2026-10")).to_have_count(0)
        done = page.locator("#done-list tbody tr").first
        expect(done).to_contain_text("已填报")
        # the filed months' table folds into cards: each cell says what it is
        cell = done.locator('td[data-label="出勤天数"]')
        before = cell.evaluate("e => getComputedStyle(e, '::before').content")
        assert "出勤天数" in before
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the filed inbox scrolls sideways ({width}px)"
        shot(page, "support-02-checked-in-phone")
        context.close()
    assert escaped == [], f"pages loaded from the network: {escaped}"
    assert errors == [], f"the pages reported errors: {errors}"
